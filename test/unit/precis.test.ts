import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../src/config/defaults.ts';
import { accountOf } from '../../src/cli/common.ts';
import { localpart, parseJid, resourcepart } from '../../src/core/jid.ts';
import { nickname, nicknameKey, opaqueString, usernameCaseMapped } from '../../src/core/precis.ts';
import { PlainMechanism } from '../../src/stream/sasl/plain.ts';
import { ScramMechanism } from '../../src/stream/sasl/scram.ts';
import { randomNames } from '../helpers/names.ts';

const SEED = 0x8265;
const COUNT = 3000;
/** Ignorable, control and space characters; ZWJ and ZWNJ are allowed in context (after a virama). */
const INVISIBLE = /(?![\u200c\u200d])[\p{Default_Ignorable_Code_Point}\p{Cc}]/u;

/** The username each SASL mechanism asks the account store for, or undefined when it refuses the name first. */
async function saslUsernames(authcid: string): Promise<{ plain?: string; scram?: string }> {
  const asked: { plain?: string; scram?: string } = {};
  const plain = new PlainMechanism(async (u) => {
    asked.plain = u;
    return undefined;
  });
  await plain.step(Buffer.from(`\0${authcid}\0pw`));
  const scram = new ScramMechanism('SCRAM-SHA-256', async (u) => {
    asked.scram = u;
    return undefined;
  });
  const saslname = authcid.replace(/=/g, '=3D').replace(/,/g, '=2C');
  await scram.step(Buffer.from(`n,,n=${saslname},r=abcdef`));
  return asked;
}

function cliUsername(name: string): string | undefined {
  try {
    return accountOf(defaultConfig(), `${name}@${defaultConfig().domain}`).username;
  } catch {
    return undefined;
  }
}

describe('one preparation of user names (issue 12 item 4)', () => {
  it('SASL PLAIN, SCRAM, the CLI and JID parsing prepare every name alike (seeded property)', async () => {
    let accepted = 0;
    for (const name of randomNames(SEED, COUNT)) {
      const expected = localpart(name);
      const jid = parseJid(`${name}@localhost`);
      const sasl = await saslUsernames(name);
      const what = `seed ${SEED}, name ${JSON.stringify(name)}`;
      // Names with '@' or '/' split a JID differently: only the localpart function sees them whole.
      if (!/[@/]/.test(name)) assert.equal(jid?.local, expected, `${what}: JID parse`);
      if (!/[@/]/.test(name)) assert.equal(cliUsername(name), expected, `${what}: CLI`);
      assert.equal(sasl.plain, expected, `${what}: PLAIN`);
      // SCRAM's client-first carries the name in a comma-separated message: it cannot hold NUL or be empty.
      assert.equal(sasl.scram, expected, `${what}: SCRAM`);
      if (expected !== undefined) {
        accepted++;
        assert.equal(localpart(expected), expected, `${what}: idempotent`);
        assert.doesNotMatch(expected, /\s/u, `${what}: no space`);
        assert.doesNotMatch(expected, INVISIBLE, `${what}: nothing invisible survives`);
      }
    }
    // The generator must exercise both outcomes.
    assert.ok(accepted > COUNT / 20 && accepted < COUNT - COUNT / 20, `accepted ${accepted} of ${COUNT}`);
  });

  it('a soft hyphen is refused everywhere, not silently dropped by one path', async () => {
    assert.equal(localpart('a\u00adb'), undefined);
    assert.equal(parseJid('a\u00adb@localhost'), undefined);
    assert.equal(cliUsername('a\u00adb'), undefined);
    assert.deepEqual(await saslUsernames('a\u00adb'), {});
  });

  it('ÄLICE, älice, decomposed a\u0308lice and fullwidth forms are one account', async () => {
    for (const name of ['ÄLICE', 'älice', 'A\u0308LICE', 'a\u0308lice', 'ÄＬＩＣＥ']) {
      assert.equal(localpart(name), 'älice', name);
      assert.equal(parseJid(`${name}@LOCALHOST`)?.bare, 'älice@localhost', name);
      assert.equal(cliUsername(name), 'älice', name);
      assert.deepEqual(await saslUsernames(name), { plain: 'älice', scram: 'älice' }, name);
    }
  });

  it('UsernameCaseMapped follows RFC 8265 and the RFC 5892 context rules', () => {
    const ok: [string, string][] = [['juliet', 'juliet'], ['fußball', 'fußball'], ['ΣΑΠΦΩ', 'σαπφω'], ['πλάτων', 'πλάτων'], ['l\u00b7l', 'l\u00b7l'], ['\u05d0\u05d1', '\u05d0\u05d1'], ['क\u094d\u200dष', 'क\u094d\u200dष']];
    for (const [input, out] of ok) assert.equal(usernameCaseMapped(input), out, input);
    // Space, symbols, compatibility characters, ignorables, controls, context failures, the Bidi Rule.
    const refused = ['foo bar', '♚', 'Ⅳ', '½', 'a\u200bb', 'a\u202eb', 'a\u2060b', 'a\u0085b', 'a\u007fb', 'a\u00b7b', 'a\u200db', '\u05d0a', 'a\u05d0', '\u0627\u0661\u06f1', '\u0661\u0627', ''];
    for (const input of refused) assert.equal(usernameCaseMapped(input), undefined, JSON.stringify(input));
    // RFC 5892 exceptions and CONTEXTO rules: keraia before Greek, geresh after Hebrew, katakana
    // middle dot beside kana or Han, no mixing of the two Arabic-Indic digit sets; the tatweel
    // and old Hangul jamo are disallowed.
    for (const input of ['\u0375\u03b1', '\u05d0\u05f3', '\u30a2\u30fb\u30a2', 'ς', '\u3007']) assert.equal(usernameCaseMapped(input), input, input);
    for (const input of ['\u0375a', 'a\u05f3', 'a\u30fbb', '\u0627\u0640\u0628', '\u1100\u1161', '\u0627\u0660\u06f0']) assert.equal(usernameCaseMapped(input), undefined, JSON.stringify(input));
  });

  it('JID parts are limited to 1023 UTF-8 octets, not UTF-16 units', () => {
    assert.ok(localpart('é'.repeat(511)));
    assert.equal(localpart('é'.repeat(512)), undefined, '1024 octets');
    assert.ok(resourcepart('é'.repeat(511)));
    assert.equal(resourcepart('é'.repeat(512)), undefined);
    assert.equal(parseJid(`room@conference.localhost/${'€'.repeat(342)}`), undefined, '1026 octets in 342 units');
  });

  it('resourceparts are OpaqueString: case kept, non-ASCII spaces mapped, ignorables refused', () => {
    assert.equal(opaqueString('Home\u00a0PC'), 'Home PC');
    assert.equal(parseJid('a@b/Home\u00a0PC')?.resource, 'Home PC');
    assert.equal(parseJid('a@b/Phone\u200b'), undefined);
    assert.equal(parseJid('a@b/x\ufe0f'), undefined);
  });
});

describe('the Nickname profile (RFC 8266)', () => {
  it('maps width, spaces and compatibility forms, keeps case, refuses invisible and control characters', () => {
    assert.equal(nickname('Ａlice'), 'Alice');
    assert.equal(nickname('  Foo \u3000 Bar  '), 'Foo Bar');
    assert.equal(nickname('♚ King'), '♚ King');
    assert.equal(nickname('Ⅳ'), 'IV');
    for (const bad of ['   ', '\u3000', '', 'a\u202eb', 'a\u200fb', 'a\u200bb', 'a\u0085b', 'a\tb', '\u0007', '👍\ufe0f', 'x\u00ad'])
      assert.equal(nickname(bad), undefined, JSON.stringify(bad));
  });

  it('compares case-insensitively after mapping', () => {
    assert.equal(nicknameKey(nickname('Ａlice')!), nicknameKey('alice'));
    assert.equal(nicknameKey('ÄLICE'), nicknameKey('a\u0308lice'));
    assert.notEqual(nicknameKey('Alice'), nicknameKey('Alice2'));
  });

  it('is idempotent, trimmed, and keeps nothing invisible (seeded property)', () => {
    for (const raw of randomNames(SEED + 1, COUNT)) {
      const n = nickname(raw);
      if (n === undefined) continue;
      assert.equal(nickname(n), n, JSON.stringify(raw));
      assert.equal(nicknameKey(n), nicknameKey(nicknameKey(n)), JSON.stringify(raw));
      assert.doesNotMatch(n, INVISIBLE, JSON.stringify(raw));
      assert.doesNotMatch(n, /^ | $|  /, JSON.stringify(raw));
    }
  });
});
