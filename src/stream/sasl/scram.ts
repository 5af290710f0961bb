import { randomBytes, timingSafeEqual } from 'node:crypto';
import { localpart } from '../../core/jid.ts';
import {
  SCRAM_DIGEST,
  authzidAllowed,
  decodeUtf8,
  digest,
  fakeCredentials,
  hmac,
  type ScramCredential,
  type ScramHash,
} from './credentials.ts';
import type { CredentialLookup, MechanismOptions, SaslFailure, SaslMechanism, SaslStep } from './mechanism.ts';

export interface ScramOptions extends MechanismOptions {
  /** Server part of the nonce (printable ASCII without ','); injectable so tests can replay RFC vectors. */
  nonce?: () => string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** RFC 5802 "printable": %x21-2B / %x2D-7E (no ','). */
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;
/** RFC 5802 saslname: '=' only as the escapes =2C / =3D. */
const SASLNAME = /^(?:[^=,\0]|=2C|=3D)+$/;
/** Optional extension attributes we ignore (RFC 5802 attr-val). */
const EXTENSION = /^[A-Za-z]=[^,]+$/;

type State =
  | { phase: 'start'; emptySent: boolean }
  | {
      phase: 'first';
      username: string;
      authzid: string;
      gs2Header: string;
      clientFirstBare: string;
      serverFirst: string;
      nonce: string;
      cred: ScramCredential;
      /** false when running against fake credentials for an unknown user */
      known: boolean;
    }
  | { phase: 'done' };

function fail(condition: SaslFailure, text?: string): SaslStep {
  return text === undefined ? { kind: 'failure', condition } : { kind: 'failure', condition, text };
}

function decodeSaslname(s: string): string | undefined {
  return SASLNAME.test(s) ? s.replace(/=2C|=3D/g, (m) => (m === '=2C' ? ',' : '=')) : undefined;
}

function b64(s: string): Buffer | undefined {
  return BASE64.test(s) ? Buffer.from(s, 'base64') : undefined;
}

/** Server side of SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding. */
export class ScramMechanism implements SaslMechanism {
  private state: State = { phase: 'start', emptySent: false };

  constructor(
    readonly name: ScramHash,
    private readonly lookup: CredentialLookup,
    private readonly options: ScramOptions = {},
  ) {}

  async step(data: Buffer): Promise<SaslStep> {
    const state = this.state;
    // Terminal unless a step explicitly advances: failures, exceptions and overlapping calls all end the exchange.
    this.state = { phase: 'done' };
    switch (state.phase) {
      case 'start':
        return this.clientFirst(data, state.emptySent);
      case 'first':
        return this.clientFinal(data, state);
      case 'done':
        return fail('malformed-request', 'SASL exchange already finished');
    }
  }

  private async clientFirst(data: Buffer, emptySent: boolean): Promise<SaslStep> {
    if (data.length === 0) {
      // No initial response: RFC 6120 §6.4.2 says to send an empty challenge, but only once.
      if (emptySent) return fail('malformed-request', 'missing client-first-message');
      this.state = { phase: 'start', emptySent: true };
      return { kind: 'challenge', data: Buffer.alloc(0) };
    }
    const msg = decodeUtf8(data);
    if (msg === undefined || msg.includes('\0')) return fail('malformed-request');
    const parts = msg.split(',');
    if (parts.length < 4) return fail('malformed-request');
    const [cbind, authzField, userField, nonceField, ...extensions] = parts;

    // We never advertise -PLUS, so a client demanding channel binding is confused or being downgraded.
    if (cbind.startsWith('p=')) return fail('malformed-request', 'channel binding is not supported');
    if (cbind !== 'n' && cbind !== 'y') return fail('malformed-request');
    let authzid = '';
    if (authzField !== '') {
      const a = authzField.startsWith('a=') ? decodeSaslname(authzField.slice(2)) : undefined;
      if (a === undefined) return fail('malformed-request');
      authzid = a;
    }
    // RFC 5802 §5.1: an unknown mandatory extension must make authentication fail.
    if (userField.startsWith('m=')) return fail('malformed-request', 'mandatory extension not supported');
    const authcid = userField.startsWith('n=') ? decodeSaslname(userField.slice(2)) : undefined;
    const username = authcid === undefined ? undefined : localpart(authcid);
    if (username === undefined) return fail('malformed-request', 'invalid username');
    const clientNonce = nonceField.slice(2);
    if (!nonceField.startsWith('r=') || !PRINTABLE.test(clientNonce)) return fail('malformed-request');
    if (!extensions.every((e) => EXTENSION.test(e))) return fail('malformed-request');

    let stored;
    try {
      stored = await this.lookup(username);
    } catch {
      return fail('temporary-auth-failure');
    }
    const cred = (stored ?? fakeCredentials(username))[this.name];
    const nonce = clientNonce + (this.options.nonce?.() ?? randomBytes(18).toString('base64'));
    const serverFirst = `r=${nonce},s=${cred.salt},i=${cred.iterations}`;
    this.state = {
      phase: 'first',
      username,
      authzid,
      gs2Header: `${cbind},${authzField},`,
      clientFirstBare: parts.slice(2).join(','),
      serverFirst,
      nonce,
      cred,
      known: stored !== undefined,
    };
    return { kind: 'challenge', data: Buffer.from(serverFirst, 'utf8') };
  }

  private clientFinal(data: Buffer, st: Extract<State, { phase: 'first' }>): SaslStep {
    const msg = decodeUtf8(data);
    if (msg === undefined || msg.includes('\0')) return fail('malformed-request');
    const parts = msg.split(',');
    if (parts.length < 3) return fail('malformed-request');
    const [cbField, nonceField] = parts;
    const proofField = parts[parts.length - 1];
    if (!cbField.startsWith('c=') || !nonceField.startsWith('r=') || !proofField.startsWith('p=')) {
      return fail('malformed-request');
    }
    if (!parts.slice(2, -1).every((e) => EXTENSION.test(e))) return fail('malformed-request');

    const cbind = b64(cbField.slice(2));
    if (!cbind) return fail('malformed-request');
    // Without channel binding, c= must echo the gs2 header sent in client-first (RFC 5802 §5.1).
    if (!cbind.equals(Buffer.from(st.gs2Header, 'utf8'))) return fail('malformed-request', 'channel binding mismatch');
    if (nonceField.slice(2) !== st.nonce) return fail('not-authorized', 'nonce mismatch');
    const proof = b64(proofField.slice(2));
    const size = SCRAM_DIGEST[this.name].size;
    if (!proof || proof.length !== size) return fail('malformed-request');

    const clientFinalWithoutProof = msg.slice(0, msg.length - proofField.length - 1);
    const authMessage = `${st.clientFirstBare},${st.serverFirst},${clientFinalWithoutProof}`;
    const storedKey = Buffer.from(st.cred.storedKey, 'base64');
    if (storedKey.length !== size) return fail('temporary-auth-failure', 'corrupt stored credentials');
    const signature = hmac(this.name, storedKey, authMessage);
    const clientKey = Buffer.alloc(size);
    for (let i = 0; i < size; i++) clientKey[i] = proof[i] ^ signature[i];
    // Compare even for fake credentials so an unknown user costs the same as a wrong password.
    const match = timingSafeEqual(digest(this.name, clientKey), storedKey);
    if (!match || !st.known) return fail('not-authorized');
    // Checked only after authentication so unauthenticated clients learn nothing about authorization policy.
    if (!authzidAllowed(st.authzid, st.username, this.options.domain)) return fail('invalid-authzid');

    const serverSignature = hmac(this.name, Buffer.from(st.cred.serverKey, 'base64'), authMessage);
    return {
      kind: 'success',
      username: st.username,
      data: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'),
    };
  }
}
