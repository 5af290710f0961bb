import { localpart } from '../../core/jid.ts';
import {
  authzidAllowed,
  decodeUtf8,
  fakeCredentials,
  verifyPassword,
  type StoredCredentials,
} from './credentials.ts';
import type { CredentialLookup, MechanismOptions, SaslFailure, SaslMechanism, SaslStep } from './mechanism.ts';

function fail(condition: SaslFailure, text?: string): SaslStep {
  return text === undefined ? { kind: 'failure', condition } : { kind: 'failure', condition, text };
}

/** Server side of SASL PLAIN (RFC 4616). Only offer it over TLS: the password travels in the clear. */
export class PlainMechanism implements SaslMechanism {
  readonly name = 'PLAIN';
  private phase: 'start' | 'waiting' | 'done' = 'start';

  constructor(
    private readonly lookup: CredentialLookup,
    private readonly options: MechanismOptions = {},
  ) {}

  async step(data: Buffer): Promise<SaslStep> {
    const phase = this.phase;
    this.phase = 'done';
    if (phase === 'done') return fail('malformed-request', 'SASL exchange already finished');
    if (data.length === 0) {
      // No initial response: send one empty challenge (RFC 6120 §6.4.2), then the client must answer.
      if (phase === 'waiting') return fail('malformed-request');
      this.phase = 'waiting';
      return { kind: 'challenge', data: Buffer.alloc(0) };
    }

    // message = [authzid] NUL authcid NUL passwd, each at most 255 octets.
    const fields: Buffer[] = [];
    let from = 0;
    for (let nul = data.indexOf(0); nul !== -1; nul = data.indexOf(0, from)) {
      fields.push(data.subarray(from, nul));
      from = nul + 1;
    }
    fields.push(data.subarray(from));
    if (fields.length !== 3 || fields.some((f) => f.length > 255)) return fail('malformed-request');
    const [authzid, authcid, password] = fields.map(decodeUtf8);
    if (authzid === undefined || !authcid || !password) return fail('malformed-request');
    const username = localpart(authcid);
    if (username === undefined) return fail('malformed-request', 'invalid username');

    let stored: StoredCredentials | undefined;
    try {
      stored = await this.lookup(username);
    } catch {
      return fail('temporary-auth-failure');
    }
    // Unknown users still pay for a PBKDF2 run so response time does not reveal which accounts exist.
    const ok = await verifyPassword(stored ?? fakeCredentials(username), password);
    if (!ok || !stored) return fail('not-authorized');
    if (!authzidAllowed(authzid, username, this.options.domain)) return fail('invalid-authzid');
    return { kind: 'success', username };
  }
}
