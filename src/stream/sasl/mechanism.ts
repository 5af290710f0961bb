import type { StoredCredentials } from './credentials.ts';
import { PlainMechanism } from './plain.ts';
import { ScramMechanism } from './scram.ts';

/** RFC 6120 §6.5 SASL failure conditions. */
export type SaslFailure =
  | 'aborted'
  | 'account-disabled'
  | 'credentials-expired'
  | 'encryption-required'
  | 'incorrect-encoding'
  | 'invalid-authzid'
  | 'invalid-mechanism'
  | 'malformed-request'
  | 'mechanism-too-weak'
  | 'not-authorized'
  | 'temporary-auth-failure';

export type SaslStep =
  | { kind: 'challenge'; data: Buffer }
  /** data: additional data with success (SCRAM: the "v=..." server-final-message). */
  | { kind: 'success'; username: string; data?: Buffer }
  | { kind: 'failure'; condition: SaslFailure; text?: string };

/** One server-side SASL exchange; feed it each decoded client payload (empty for none). */
export interface SaslMechanism {
  readonly name: string;
  step(data: Buffer): Promise<SaslStep>;
}

/** Resolves a username, prepared as a JID localpart (PRECIS UsernameCaseMapped), to its credentials. */
export type CredentialLookup = (username: string) => Promise<StoredCredentials | undefined>;

export interface MechanismOptions {
  /** The served domain; needed to accept an authzid equal to the user's bare JID. */
  domain?: string;
}

/** Advertised in this order (strongest first). */
export const MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'] as const;
export type MechanismName = (typeof MECHANISMS)[number];

export function createMechanism(
  name: string,
  lookup: CredentialLookup,
  options: MechanismOptions = {},
): SaslMechanism | undefined {
  switch (name) {
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-1':
      return new ScramMechanism(name, lookup, options);
    case 'PLAIN':
      return new PlainMechanism(lookup, options);
    default:
      return undefined;
  }
}

