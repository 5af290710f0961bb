import { StanzaError } from '../xml/errors.ts';

/**
 * An admin operation refused for a reason the admin can fix (no such account, bad JID, taken
 * name...). `condition` is the XMPP stanza error the ad-hoc commands answer with; the CLI and the
 * admin socket print the message as it is, without a stack.
 */
export class AdminError extends Error {
  constructor(
    readonly condition: 'bad-request' | 'conflict' | 'item-not-found' | 'not-acceptable' | 'not-allowed' | 'service-unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

/** Runs an admin operation for an XMPP request: its AdminError becomes the stanza error. */
export async function asStanzaError<T>(run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof AdminError) throw new StanzaError(err.condition, err.message);
    throw err;
  }
}
