import { seenRecently } from './recent.ts';

interface Entry {
  count: number;
  /** The last messages counted: one message is never counted twice (message path, then ghost path). */
  recent: string[];
}

const RECENT = 8;

/**
 * Unread groupchat messages per room and absent member, counted from when the member left (or
 * last resumed a session) and reset when they come back. Only members with registrations are
 * tracked, so memory follows the number of registered, absent members.
 */
export class UnreadCounter {
  private readonly rooms = new Map<string, Map<string, Entry>>();

  /** Counts `messageId` as unread for `bare` in `room`; resolves to the new count. */
  bump(room: string, bare: string, messageId: string): number {
    let users = this.rooms.get(room);
    if (!users) this.rooms.set(room, (users = new Map()));
    const e = users.get(bare);
    if (!e) {
      users.set(bare, { count: 1, recent: [messageId] });
      return 1;
    }
    if (messageId && seenRecently(e.recent, messageId)) return e.count;
    e.count++;
    e.recent.push(messageId);
    if (e.recent.length > RECENT) e.recent.shift();
    return e.count;
  }

  get(room: string, bare: string): number {
    return this.rooms.get(room)?.get(bare)?.count ?? 0;
  }

  /** The member is back: nothing is unread any more. */
  reset(room: string, bare: string): void {
    const users = this.rooms.get(room);
    if (!users) return;
    users.delete(bare);
    if (users.size === 0) this.rooms.delete(room);
  }

  dropRoom(room: string): void {
    this.rooms.delete(room);
  }
}
