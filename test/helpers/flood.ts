import type { Element } from '../../src/xml/element.ts';
import { RawTcp } from './raw.ts';

/** Raw-TCP room traffic for the slow-reader tests (issue 12 item 1). */

export const MUC_NS = 'http://jabber.org/protocol/muc';

/** Joins `room` as `nick` and waits for the self-presence. */
export async function joinRaw(c: RawTcp, room: string, nick: string): Promise<void> {
  c.send(`<presence to='${room}/${nick}'><x xmlns='${MUC_NS}'/></presence>`);
  await c.next((el) => el.name === 'presence' && el.attrs.from === `${room}/${nick}`, 5000, 'the self-presence');
}

const isGroupchat = (el: Element) => el.name === 'message' && el.attrs.type === 'groupchat' && el.getChild('body') !== undefined;

/** Resolves when `c` sees `nick` leave `room` (false if it did not within `timeoutMs`); never rejects. */
export function seesLeave(c: RawTcp, room: string, nick: string, timeoutMs = 100_000): Promise<boolean> {
  return c
    .next((el) => el.name === 'presence' && el.attrs.from === `${room}/${nick}` && el.attrs.type === 'unavailable', timeoutMs, `${nick} leaving`)
    .then(
      () => true,
      () => false,
    );
}

/**
 * Every sender sends one groupchat message per round, paced by the readers: a round ends when
 * each sender has received all of its messages. `received[k]` holds the message ids sender k got.
 */
export class RoomFlood {
  rounds = 0;
  readonly received: Set<string>[];

  constructor(
    private readonly room: string,
    private readonly senders: RawTcp[],
    private readonly body: string,
  ) {
    this.received = senders.map(() => new Set());
  }

  /** Bytes of room traffic one round sends to each occupant. */
  get bytesPerRound(): number {
    return this.senders.length * this.body.length;
  }

  async round(): Promise<void> {
    const r = this.rounds++;
    this.senders.forEach((c, i) => c.send(`<message to='${this.room}' type='groupchat' id='m${i}-${r}'><body>m${i}-${r} ${this.body}</body></message>`));
    await Promise.all(
      this.senders.map(async (c, k) => {
        for (let j = 0; j < this.senders.length; j++) {
          const el = await c.next(isGroupchat, 10_000, 'a room message');
          this.received[k]!.add(el.getChildText('body')!.split(' ')[0]!);
        }
      }),
    );
  }

  /** True when every sender received every message of every round. */
  complete(): boolean {
    return this.received.every((got) => got.size === this.rounds * this.senders.length);
  }
}
