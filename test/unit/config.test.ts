import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../src/config/defaults.ts';
import { applyFlags, ConfigError, loadConfig, loadConfigFile, validateConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';

/** The errors validateConfig reports for `raw`. */
function errorsOf(raw: unknown, base?: Config): string[] {
  try {
    validateConfig(raw, base);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return [...err.errors];
  }
  assert.fail(`expected ${JSON.stringify(raw)} to be rejected`);
}

function assertOneError(raw: unknown, field: string, pattern?: RegExp): void {
  const errors = errorsOf(raw);
  assert.equal(errors.length, 1, `expected one error, got ${JSON.stringify(errors)}`);
  assert.ok(errors[0]!.startsWith(`${field}: `), `"${errors[0]}" should name ${field}`);
  if (pattern) assert.match(errors[0]!, pattern);
}

describe('defaultConfig', () => {
  it('is the embedded default', () => {
    const c = defaultConfig();
    assert.equal(c.domain, 'localhost');
    assert.equal(c.dataDir, './data');
    assert.deepEqual(c.admins, []);
    assert.deepEqual(c.contactAddresses, { abuse: [], admin: [], feedback: [], sales: [], security: [], status: [], support: [] });
    assert.deepEqual(c.c2s, { host: '127.0.0.1', port: 5222, directTlsPort: null, requireTls: true });
    assert.deepEqual(c.http, { host: '127.0.0.1', port: 5280, trustedProxies: [] });
    assert.deepEqual(c.tls, { certFile: null, keyFile: null });
    assert.deepEqual(c.limits, {
      maxStanzaBytes: 262144,
      maxDepth: 64,
      rateBytesPerSecond: 65536,
      rateBurstBytes: 262144,
      authTimeoutSeconds: 60,
      authFailuresPerMinute: 10,
      exemptAddresses: ['127.0.0.0/8', '::1'],
      maxPendingOutputBytes: 4194304,
      sendTimeoutSeconds: 180,
    });
    assert.deepEqual(c.registration, { enabled: true, perAddressPerMinute: 3 });
    assert.deepEqual(c.streamManagement, { resumeTimeoutSeconds: 300, maxQueue: 1000, maxQueueBytes: 16777216 });
    assert.deepEqual(c.ping, { idleSeconds: 300, timeoutSeconds: 60 });
    assert.deepEqual(c.muc, {
      domain: 'conference.localhost',
      createRooms: 'anyone',
      unlockedByDefault: false,
      maxHistoryLength: 100,
      maxLiveRooms: 1000,
      roomCreationPerAddressPerMinute: 10,
      defaultRoomConfig: {
        name: '',
        description: '',
        language: '',
        persistent: true,
        public: true,
        membersOnly: false,
        moderated: false,
        passwordProtected: false,
        password: '',
        whois: 'moderators',
        maxUsers: 0,
        historyLength: 20,
        changeSubject: false,
        allowInvites: false,
        allowPm: 'anyone',
        archiving: true,
        presenceBroadcast: ['moderator', 'participant', 'visitor'],
        allowRegister: true,
        pushPolicy: 'default',
      },
    });
    assert.deepEqual(c.push, {
      mucPolicy: 'mentions',
      maxDevices: 5,
      maxErrors: 16,
      withSender: true,
      withBody: false,
      importantBody: 'New Message!',
      timeoutSeconds: 30,
    });
    assert.deepEqual(c.appServer, { domain: 'push.localhost', keepPerNode: 100, webhook: null, nodeWebhooks: {}, httpToken: null });
    assert.deepEqual(c.log, { level: 'info' });
  });

  it('returns a fresh object each time', () => {
    const a = defaultConfig();
    a.c2s.port = 1;
    a.admins.push('x@y');
    assert.equal(defaultConfig().c2s.port, 5222);
    assert.deepEqual(defaultConfig().admins, []);
  });

  it('validates as is, and an empty object, undefined or null give the defaults', () => {
    assert.deepEqual(validateConfig({}), defaultConfig());
    assert.deepEqual(validateConfig(undefined), defaultConfig());
    assert.deepEqual(validateConfig(null), defaultConfig());
    assert.deepEqual(validateConfig(defaultConfig()), defaultConfig());
  });

  it('config.example.json holds every key with its default', async () => {
    const raw = await loadConfigFile(new URL('../../config.example.json', import.meta.url).pathname);
    assert.deepEqual(validateConfig(raw), defaultConfig());
    const keys = (o: unknown, p = ''): string[] =>
      Object.entries(o as Record<string, unknown>).flatMap(([k, v]) =>
        v && typeof v === 'object' && !Array.isArray(v) && k !== 'nodeWebhooks' ? keys(v, `${p}${k}.`) : [`${p}${k}`],
      );
    assert.deepEqual(keys(raw).sort(), keys(defaultConfig()).sort());
  });
});

describe('validateConfig merging', () => {
  it('deep-merges a partial file onto the defaults', () => {
    const c = validateConfig({ c2s: { port: 15222 }, muc: { defaultRoomConfig: { maxUsers: 50 } }, log: { level: 'debug' } });
    assert.equal(c.c2s.port, 15222);
    assert.equal(c.c2s.host, '127.0.0.1');
    assert.equal(c.c2s.requireTls, true);
    assert.equal(c.muc.defaultRoomConfig.maxUsers, 50);
    assert.equal(c.muc.defaultRoomConfig.historyLength, 20);
    assert.equal(c.muc.defaultRoomConfig.persistent, true);
    assert.equal(c.log.level, 'debug');
    assert.equal(c.http.port, 5280);
  });

  it('merges onto a given base without touching it', () => {
    const base = defaultConfig();
    base.http.port = 9999;
    const c = validateConfig({ c2s: { port: 1 } }, base);
    assert.equal(c.http.port, 9999);
    assert.equal(c.c2s.port, 1);
    assert.equal(base.c2s.port, 5222);
    c.admins.push('a@b');
    assert.deepEqual(base.admins, []);
  });

  it('replaces arrays and maps instead of merging them', () => {
    const base = validateConfig({ admins: ['a@example.com'], appServer: { nodeWebhooks: { n1: 'https://a.example/x' } } });
    const c = validateConfig({ admins: ['b@example.com'], appServer: { nodeWebhooks: { n2: 'http://b.example/y' } } }, base);
    assert.deepEqual(c.admins, ['b@example.com']);
    assert.deepEqual(c.appServer.nodeWebhooks, { n2: 'http://b.example/y' });
  });

  it('normalizes domains and JIDs', () => {
    const c = validateConfig({ domain: 'Example.COM', admins: ['Admin@Example.com', 'admin@example.com'] });
    assert.equal(c.domain, 'example.com');
    assert.deepEqual(c.admins, ['admin@example.com']);
    assert.equal(validateConfig({ domain: 'bücher.example' }).domain, 'xn--bcher-kva.example');
  });

  it('accepts nullable values and valid alternatives', () => {
    const c = validateConfig({
      c2s: { directTlsPort: 5223, host: '::' },
      http: { host: 'localhost', trustedProxies: ['10.0.0.0/8', '::1', '192.168.1.1', 'fd00::/8'] },
      tls: { certFile: '/etc/ssl/a.crt', keyFile: '/etc/ssl/a.key' },
      muc: { createRooms: 'admins' },
      push: { mucPolicy: 'all', importantBody: '' },
      appServer: { webhook: 'https://hooks.example/push' },
      log: { level: 'silent' },
    });
    assert.equal(c.c2s.directTlsPort, 5223);
    assert.deepEqual(c.http.trustedProxies, ['10.0.0.0/8', '::1', '192.168.1.1', 'fd00::/8']);
    assert.equal(c.tls.certFile, '/etc/ssl/a.crt');
    assert.equal(c.appServer.webhook, 'https://hooks.example/push');
    assert.equal(validateConfig({ c2s: { directTlsPort: null } }, c).c2s.directTlsPort, null);
  });

  it('resolves relative paths against baseDir, leaving absolute ones', () => {
    const c = validateConfig({ dataDir: 'db', tls: { certFile: 'certs/a.crt', keyFile: '/k.key' } }, undefined, { baseDir: '/etc/mucpush' });
    assert.equal(c.dataDir, '/etc/mucpush/db');
    assert.equal(c.tls.certFile, '/etc/mucpush/certs/a.crt');
    assert.equal(c.tls.keyFile, '/k.key');
    assert.equal(validateConfig({ dataDir: 'db' }).dataDir, 'db');
  });
});

describe('validateConfig errors', () => {
  it('rejects a non-object root', () => {
    for (const raw of [[], 'x', 5, true]) assert.match(errorsOf(raw)[0]!, /^\(root\): must be an object/);
  });

  it('rejects unknown keys at every level, with a hint for typos', () => {
    assertOneError({ domian: 'x.org' }, 'domian', /unknown key \(did you mean "domain"\?\)/);
    assertOneError({ c2s: { prot: 1 } }, 'c2s.prot', /did you mean "port"/);
    assertOneError({ muc: { whatever: true } }, 'muc.whatever', /^muc\.whatever: unknown key$/);
  });

  it('rejects a section that is not an object', () => {
    assertOneError({ c2s: 5222 }, 'c2s', /must be an object/);
    assertOneError({ limits: null }, 'limits', /must be an object/);
    assertOneError({ muc: [] }, 'muc', /must be an object/);
  });

  it('checks integer ranges', () => {
    assertOneError({ c2s: { port: 70000 } }, 'c2s.port', /must be an integer from 0 to 65535 \(got 70000\)/);
    assertOneError({ c2s: { port: -1 } }, 'c2s.port', /from 0 to 65535/);
    assertOneError({ c2s: { port: 52.5 } }, 'c2s.port', /integer/);
    assertOneError({ c2s: { port: '5222' } }, 'c2s.port', /got "5222"/);
    assertOneError({ http: { port: null } }, 'http.port');
    assertOneError({ c2s: { directTlsPort: 'yes' } }, 'c2s.directTlsPort', /null or an integer from 0 to 65535/);
    assertOneError({ limits: { maxStanzaBytes: 10 } }, 'limits.maxStanzaBytes');
    assertOneError({ limits: { maxDepth: 0 } }, 'limits.maxDepth');
    assertOneError({ limits: { rateBytesPerSecond: 0 } }, 'limits.rateBytesPerSecond', /must be an integer >= 1/);
    assertOneError({ limits: { authFailuresPerMinute: 0 } }, 'limits.authFailuresPerMinute');
    assertOneError({ streamManagement: { maxQueue: 0 } }, 'streamManagement.maxQueue');
    assertOneError({ ping: { idleSeconds: -5 } }, 'ping.idleSeconds');
    assertOneError({ muc: { defaultRoomConfig: { maxUsers: -1 } } }, 'muc.defaultRoomConfig.maxUsers');
    assertOneError({ muc: { defaultRoomConfig: { maxUsers: 2_000_000 } } }, 'muc.defaultRoomConfig.maxUsers', /from 0 to 1000000/);
    assertOneError({ push: { maxDevices: 0 } }, 'push.maxDevices');
    assertOneError({ appServer: { keepPerNode: 1.5 } }, 'appServer.keepPerNode');
    assertOneError({ registration: { perAddressPerMinute: -1 } }, 'registration.perAddressPerMinute', /must be an integer >= 0 \(got -1\)/);
    assertOneError({ registration: { perAddressPerMinute: '3' } }, 'registration.perAddressPerMinute', /got "3"/);
    assertOneError({ muc: { roomCreationPerAddressPerMinute: 0.5 } }, 'muc.roomCreationPerAddressPerMinute', /integer >= 0/);
    assertOneError({ limits: { exemptAddresses: ['localhost'] } }, 'limits.exemptAddresses[0]', /IP address or CIDR range/);
  });

  it('checks booleans, enums and strings', () => {
    assertOneError({ c2s: { requireTls: 'yes' } }, 'c2s.requireTls', /must be true or false/);
    assertOneError({ registration: { enabled: 1 } }, 'registration.enabled');
    assertOneError({ muc: { createRooms: 'everyone' } }, 'muc.createRooms', /"anyone", "local", "admins"/);
    assertOneError({ push: { mucPolicy: 'none' } }, 'push.mucPolicy', /must be "mentions" or "all"/);
    assertOneError({ log: { level: 'verbose' } }, 'log.level');
    assertOneError({ push: { importantBody: 3 } }, 'push.importantBody', /must be a string/);
  });

  it('checks every field of muc.defaultRoomConfig, naming it', () => {
    const room = (fields: Record<string, unknown>) => ({ muc: { defaultRoomConfig: fields } });
    assertOneError(room({ whois: 'everyone' }), 'muc.defaultRoomConfig.whois', /must be "moderators" or "anyone" \(got "everyone"\)/);
    assertOneError(room({ persistent: 'yes' }), 'muc.defaultRoomConfig.persistent', /true or false/);
    for (const key of ['public', 'membersOnly', 'moderated', 'passwordProtected', 'changeSubject', 'allowInvites', 'archiving', 'allowRegister']) {
      assertOneError(room({ [key]: 1 }), `muc.defaultRoomConfig.${key}`, /true or false/);
    }
    for (const key of ['name', 'description', 'language', 'password']) assertOneError(room({ [key]: 1 }), `muc.defaultRoomConfig.${key}`, /string/);
    assertOneError(room({ allowPm: 'all' }), 'muc.defaultRoomConfig.allowPm', /"anyone", "participants", "moderators", "none"/);
    assertOneError(room({ pushPolicy: 'never' }), 'muc.defaultRoomConfig.pushPolicy', /"default", "mentions", "all"/);
    assertOneError(room({ historyLength: -1 }), 'muc.defaultRoomConfig.historyLength');
    assertOneError(room({ presenceBroadcast: ['moderator', 'owner'] }), 'muc.defaultRoomConfig.presenceBroadcast[1]');
    assertOneError(room({ colour: 'red' }), 'muc.defaultRoomConfig.colour', /unknown key/);
    assertOneError({ muc: { historyLength: 5 } }, 'muc.historyLength', /moved to muc\.defaultRoomConfig\.historyLength/);
    assertOneError({ muc: { maxUsers: 5 } }, 'muc.maxUsers', /moved to muc\.defaultRoomConfig\.maxUsers/);
    const c = validateConfig(room({ membersOnly: true, passwordProtected: true, password: 'pw', presenceBroadcast: ['moderator'] }));
    assert.equal(c.muc.defaultRoomConfig.membersOnly, true);
    assert.equal(c.muc.defaultRoomConfig.password, 'pw');
    assert.deepEqual(c.muc.defaultRoomConfig.presenceBroadcast, ['moderator']);
    assert.equal(c.muc.defaultRoomConfig.persistent, true, 'a key left out keeps the default');
  });

  it('checks domains, hosts, addresses, JIDs, paths and URLs', () => {
    assertOneError({ domain: 'not a domain' }, 'domain', /domain name/);
    assertOneError({ domain: 'user@example.com' }, 'domain');
    assertOneError({ domain: '' }, 'domain');
    assertOneError({ domain: 5 }, 'domain');
    assertOneError({ c2s: { host: 'bad host!' } }, 'c2s.host');
    assertOneError({ http: { trustedProxies: ['10.0.0.0/33'] } }, 'http.trustedProxies[0]', /CIDR/);
    assertOneError({ http: { trustedProxies: '10.0.0.1' } }, 'http.trustedProxies', /must be an array/);
    assertOneError({ admins: ['a@example.com', 'example.com'] }, 'admins[1]', /bare JID/);
    assertOneError({ admins: ['a@example.com/res'] }, 'admins[0]');
    assertOneError({ contactAddresses: { abuse: ['abuse at example.com'] } }, 'contactAddresses.abuse[0]', /URI/);
    assertOneError({ contactAddresses: { admin: 'xmpp:a@example.com' } }, 'contactAddresses.admin', /must be an array/);
    assertOneError({ dataDir: '' }, 'dataDir');
    assertOneError({ tls: { certFile: 5, keyFile: null } }, 'tls.certFile');
    assertOneError({ appServer: { webhook: 'ftp://x.example/' } }, 'appServer.webhook', /http/);
    assertOneError({ appServer: { nodeWebhooks: { n: 'nope' } } }, 'appServer.nodeWebhooks.n', /http/);
    assertOneError({ appServer: { nodeWebhooks: [] } }, 'appServer.nodeWebhooks');
    assertOneError({ appServer: { httpToken: 'too-short' } }, 'appServer.httpToken', /16 or more/);
    assertOneError({ appServer: { httpToken: 'has a space in it, sadly' } }, 'appServer.httpToken');
    assert.equal(validateConfig({ appServer: { httpToken: 'a-long-enough-token' } }).appServer.httpToken, 'a-long-enough-token');
  });

  it('checks the service domains', () => {
    assertOneError({ muc: { domain: true } }, 'muc.domain', /null \(use conference\.<domain>\) or false/);
    assertOneError({ appServer: { domain: 'a b' } }, 'appServer.domain', /push\.<domain>/);
    assertOneError({ muc: { domain: 'localhost' } }, 'muc.domain', /differ from domain/);
    assertOneError({ appServer: { domain: 'conference.localhost' } }, 'appServer.domain', /differ from muc\.domain/);
  });

  it('checks fields that depend on each other', () => {
    assertOneError({ tls: { certFile: '/a.crt' } }, 'tls.keyFile', /set when tls\.certFile is set/);
    assertOneError({ tls: { keyFile: '/a.key' } }, 'tls.certFile', /set when tls\.keyFile is set/);
    assertOneError({ muc: { defaultRoomConfig: { historyLength: 200 } } }, 'muc.defaultRoomConfig.historyLength', /maxHistoryLength \(100\)/);
    assertOneError({ muc: { defaultRoomConfig: { passwordProtected: true } } }, 'muc.defaultRoomConfig.password', /passwordProtected is true/);
    assertOneError({ muc: { defaultRoomConfig: { password: 'pw' } } }, 'muc.defaultRoomConfig.passwordProtected', /password is set/);
    assertOneError({ http: { port: 5222 } }, 'http.port', /must differ from c2s\.port/);
    assertOneError({ c2s: { directTlsPort: 5222 } }, 'c2s.directTlsPort', /must differ from c2s\.port/);
    // Different addresses or ephemeral ports do not clash.
    validateConfig({ http: { port: 5222, host: '127.0.0.2' } });
    validateConfig({ c2s: { port: 0 }, http: { port: 0 } });
  });

  it('reports cross-field errors with field errors, except those about a field already found invalid', () => {
    const errors = errorsOf({ c2s: { port: 'x' }, http: { port: 5222 }, muc: { domain: 'localhost' } });
    assert.deepEqual(errors, ['c2s.port: must be an integer from 0 to 65535 (got "x")', 'muc.domain: must differ from domain']);
    // An invalid host leaves the port clash out too; a valid pair is checked.
    assert.deepEqual(errorsOf({ c2s: { host: 5 }, http: { port: 5222 } }), ['c2s.host: must be an IP address or host name to listen on, such as "127.0.0.1" or "0.0.0.0" (got 5)']);
    assert.equal(errorsOf({ domain: 'a b', http: { port: 5222 } }).length, 2);
  });

  it('reports every error at once, in a ConfigError naming the source', () => {
    try {
      validateConfig({ c2s: { port: 'x', host: 1 }, foo: 1, log: { level: 'x' } }, undefined, { source: 'my.json' });
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.errors.length, 4);
      assert.equal(err.source, 'my.json');
      assert.match(err.message, /^my\.json: 4 configuration errors:/);
      for (const f of ['foo:', 'c2s.port:', 'c2s.host:', 'log.level:']) assert.ok(err.message.includes(f), `${f} missing`);
    }
  });
});

describe('service domains', () => {
  it('derive from the domain when left out or null', () => {
    const c = validateConfig({ domain: 'example.com' });
    assert.equal(c.muc.domain, 'conference.example.com');
    assert.equal(c.appServer.domain, 'push.example.com');
    const n = validateConfig({ domain: 'example.com', muc: { domain: null }, appServer: { domain: null } });
    assert.equal(n.muc.domain, 'conference.example.com');
    assert.equal(n.appServer.domain, 'push.example.com');
  });

  it('are kept when explicit, and false disables them (null in Config)', () => {
    const c = validateConfig({ domain: 'example.com', muc: { domain: 'Rooms.Example.com' }, appServer: { domain: false } });
    assert.equal(c.muc.domain, 'rooms.example.com');
    assert.equal(c.appServer.domain, null);
    const d = validateConfig({ muc: { domain: false } });
    assert.equal(d.muc.domain, null);
    assert.equal(d.appServer.domain, 'push.localhost');
  });

  it('follow the base: derived ones are re-derived, explicit or disabled ones kept', () => {
    const base = validateConfig({ muc: { domain: 'rooms.localhost' }, appServer: { domain: false } });
    const c = validateConfig({ domain: 'example.org' }, base);
    assert.equal(c.muc.domain, 'rooms.localhost');
    assert.equal(c.appServer.domain, null);
    const derived = validateConfig({ domain: 'example.org' }, validateConfig({}));
    assert.equal(derived.muc.domain, 'conference.example.org');
    assert.equal(derived.appServer.domain, 'push.example.org');
  });
});

describe('applyFlags', () => {
  it('overrides domain, data folder, ports and host', () => {
    const c = applyFlags(defaultConfig(), { domain: 'Chat.Example', dataDir: '/srv/db', c2sPort: 0, httpPort: 8080, host: '0.0.0.0' });
    assert.equal(c.domain, 'chat.example');
    assert.equal(c.dataDir, '/srv/db');
    assert.equal(c.c2s.port, 0);
    assert.equal(c.http.port, 8080);
    assert.equal(c.c2s.host, '0.0.0.0');
    assert.equal(c.http.host, '0.0.0.0');
  });

  it('re-derives default service domains when the domain changes', () => {
    const c = applyFlags(defaultConfig(), { domain: 'example.net' });
    assert.equal(c.muc.domain, 'conference.example.net');
    assert.equal(c.appServer.domain, 'push.example.net');
  });

  it('keeps explicit and disabled service domains', () => {
    const base = validateConfig({ muc: { domain: 'rooms.example.net' }, appServer: { domain: false } });
    const c = applyFlags(base, { domain: 'example.net' });
    assert.equal(c.muc.domain, 'rooms.example.net');
    assert.equal(c.appServer.domain, null);
  });

  it('does not modify its input, and no flags change nothing', () => {
    const base = defaultConfig();
    applyFlags(base, { domain: 'example.net', c2sPort: 1 });
    assert.deepEqual(base, defaultConfig());
    assert.deepEqual(applyFlags(base, {}), defaultConfig());
  });

  it('names the flag of a bad value', () => {
    const cases: Array<[Parameters<typeof applyFlags>[1], RegExp]> = [
      [{ domain: 'bad domain' }, /^--domain: /],
      [{ c2sPort: 70000 }, /^--c2s-port: must be an integer from 0 to 65535/],
      [{ httpPort: -1 }, /^--http-port: /],
      [{ dataDir: '' }, /^--data-dir: /],
      [{ host: 'not valid!' }, /^--host: /],
      [{ httpPort: 5222 }, /^http\.port: must differ from c2s\.port/],
    ];
    for (const [flags, pattern] of cases) {
      assert.throws(() => applyFlags(defaultConfig(), flags), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.errors[0]!, pattern);
        return true;
      });
    }
  });
});

describe('loadConfigFile and loadConfig', () => {
  it('reads JSON, and names the path when the file is missing or invalid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mucpush-config-'));
    try {
      const good = join(dir, 'good.json');
      await writeFile(good, '\uFEFF{"domain":"example.com"}');
      assert.deepEqual(await loadConfigFile(good), { domain: 'example.com' });

      const bad = join(dir, 'bad.json');
      await writeFile(bad, '{"domain": ');
      await assert.rejects(loadConfigFile(bad), (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, new RegExp(`config file ${bad} is not valid JSON`));
        return true;
      });
      const missing = join(dir, 'missing.json');
      await assert.rejects(loadConfigFile(missing), new RegExp(`cannot read config file ${missing}: no such file`));
      assert.equal(await loadConfigFile(missing, { missingOk: true }), undefined);
      await assert.rejects(loadConfigFile(dir), /is a directory/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('layers defaults, file and flags, resolving paths', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mucpush-config-'));
    try {
      const file = join(dir, 'config.json');
      await writeFile(file, JSON.stringify({ domain: 'example.com', dataDir: 'db', c2s: { port: 15222 } }));
      const { config, file: used } = await loadConfig({ file, flags: { c2sPort: 25222 } });
      assert.equal(used, file);
      assert.equal(config.domain, 'example.com');
      assert.equal(config.muc.domain, 'conference.example.com');
      assert.equal(config.dataDir, join(dir, 'db'));
      assert.equal(config.c2s.port, 25222);

      const none = await loadConfig({ optionalFile: join(dir, 'absent.json'), flags: { domain: 'example.org' } });
      assert.equal(none.file, null);
      assert.equal(none.config.muc.domain, 'conference.example.org');
      assert.equal(none.config.dataDir, resolve('data'));
      await assert.rejects(loadConfig({ file: join(dir, 'absent.json') }), /cannot read config file/);

      await writeFile(file, JSON.stringify({ c2s: { port: 'x' } }));
      await assert.rejects(loadConfig({ file }), (err: unknown) => err instanceof ConfigError && err.source === file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
