import { decodeTime, encodeTime, TIME_MAX } from 'ulid';
import type { Element } from '../xml/element.ts';
import { parseFrame } from '../xml/frame-parser.ts';
import type { BatchOp, KV, Store } from './db.ts';

/** What is stored per archived groupchat message. */
interface StoredMessage {
  /** The broadcast message as sent to occupants (no `to`), muc#user payloads stripped. */
  xml: string;
  nick: string;
  /** The sender's real bare JID. */
  jid: string;
  /** Milliseconds since the epoch (the time of the stanza-id). */
  time: number;
}

/** One archived message; `id` is the stanza-id that occupants saw live. */
export interface ArchivedMessage extends StoredMessage {
  id: string;
}

export interface ArchiveQuery {
  /** Only messages at or after this time (ms). */
  start?: number;
  /** Only messages at or before this time (ms). */
  end?: number;
  /** Only messages strictly after this id (must exist: see `has`). */
  afterId?: string;
  /** Only messages strictly before this id. */
  beforeId?: string;
  /** Extra filter applied while scanning (e.g. the sender's bare JID). */
  match?: (m: ArchivedMessage) => boolean;
  /** Page size (0 gives an empty page). */
  limit: number;
  /** Take the page from the newest end (RSM <before/>): results still come oldest first. */
  reverse?: boolean;
}

export interface ArchivePage {
  /** Oldest first. */
  items: ArchivedMessage[];
  /** No further matching message in the paging direction. */
  complete: boolean;
}

type Pending = { roomJid: string; op: BatchOp };
/** The messages the next write step takes, and that write (shared by every append in it). */
type WaitingBatch = { items: Pending[]; written: Promise<void> };

const SEP = '\x00';
const END = '\x01';
const PARSE_LIMITS = { maxStanzaBytes: Number.MAX_SAFE_INTEGER, maxDepth: 10_000 };
const DELETE_CHUNK = 1000;

/**
 * The room message archive (XEP-0313 on rooms): sublevel 'archive', keys
 * `<roomJid>\0<ulid>`, so a room's messages are contiguous and in time order, lookup by id is a
 * get, and time bounds are key bounds built from the ulid's time prefix.
 *
 * Appends are committed with durable batches (group commit): the first append after a write
 * puts a step on the chain that waits for the end of the event-loop turn, then takes every
 * message appended until it runs (all those of the turn, and while an earlier batch is still
 * being synced, all those appended meanwhile) into one batch. So there is at most one batch
 * waiting, however fast messages come, and one `fsync` covers many turns under load. Reads
 * first `settle()` so a query sees every message already broadcast. Writes and room deletions
 * run one after another on a single chain.
 */
export class RoomArchive {
  private readonly kv: KV<StoredMessage>;
  /** Messages for the write step already on the chain, which takes them when it runs; null when none waits. */
  private waiting: WaitingBatch | null = null;
  private chain: Promise<void> = Promise.resolve();
  /** Told of each committed batch: how long its write took (seconds) and how many messages it held. */
  readonly written = new Set<(seconds: number, messages: number) => void>();

  constructor(
    private readonly store: Store,
    private readonly onError: (err: unknown, what: string) => void = () => {},
  ) {
    this.kv = store.sub<StoredMessage>('archive');
  }

  /**
   * Queues a message; resolves once it is on disk (after the current event-loop turn, or once
   * the write before it is: see `settle`), rejects when that write failed.
   */
  append(roomJid: string, id: string, msg: { xml: string; nick: string; jid: string; time?: number }): Promise<void> {
    const value: StoredMessage = { xml: msg.xml, nick: msg.nick, jid: msg.jid, time: msg.time ?? decodeTime(id) };
    const pending: Pending = { roomJid, op: this.kv.batchPut(key(roomJid, id), value) };
    if (this.waiting) {
      this.waiting.items.push(pending);
      return this.waiting.written;
    }
    const batch: WaitingBatch = { items: [pending], written: Promise.resolve() };
    this.waiting = batch;
    batch.written = this.enqueue(async () => {
      // The rest of this turn's messages (every message of a busy turn is appended before it ends).
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.waiting === batch) this.waiting = null;
      const started = performance.now();
      await this.store.batch(batch.items.map((p) => p.op));
      const seconds = (performance.now() - started) / 1000;
      for (const listener of this.written) listener(seconds, batch.items.length);
    }, 'archive write');
    return batch.written;
  }

  /** Puts `work` on the chain; the result settles as the work does, the chain goes on either way. */
  private enqueue(work: () => Promise<void>, what: string): Promise<void> {
    const run = this.chain.then(work);
    this.chain = run.catch((err) => this.onError(err, what));
    return run;
  }

  /** Resolves once every message appended so far (and every deletion) is committed. */
  async settle(): Promise<void> {
    await this.chain;
  }

  /** The archived broadcast message with this stanza-id, or null. */
  async get(roomJid: string, id: string): Promise<Element | null> {
    const m = await this.entry(roomJid, id);
    return m ? parseArchived(m.xml) : null;
  }

  /** The stored record of one message, or null. */
  async entry(roomJid: string, id: string): Promise<ArchivedMessage | null> {
    await this.settle();
    const v = await this.kv.get(key(roomJid, id));
    return v ? { id, ...v } : null;
  }

  async has(roomJid: string, id: string): Promise<boolean> {
    return (await this.entry(roomJid, id)) !== null;
  }

  /** A page of a room's messages within the bounds, oldest first. */
  async query(roomJid: string, q: ArchiveQuery): Promise<ArchivePage> {
    await this.settle();
    const range = bounds(roomJid, q);
    if (!range) return { items: [], complete: true };
    const items: ArchivedMessage[] = [];
    let complete = true;
    // Without a filter the iterator itself can stop one past the page.
    const opts = { ...range, reverse: q.reverse === true, ...(q.match ? {} : { limit: q.limit + 1 }) };
    for await (const [k, v] of this.kv.range(opts)) {
      const m: ArchivedMessage = { id: k.slice(roomJid.length + 1), ...v };
      if (q.match && !q.match(m)) continue;
      if (items.length === q.limit) {
        complete = false;
        break;
      }
      items.push(m);
    }
    if (q.reverse) items.reverse();
    return { items, complete };
  }

  /** The oldest and newest messages of a room (XEP-0313 metadata). */
  async edges(roomJid: string): Promise<{ first: ArchivedMessage; last: ArchivedMessage } | null> {
    await this.settle();
    const one = async (reverse: boolean) => {
      for await (const [k, v] of this.kv.range({ gt: roomJid + SEP, lt: roomJid + END, limit: 1, reverse })) return { id: k.slice(roomJid.length + 1), ...v };
      return null;
    };
    const first = await one(false);
    const last = first && (await one(true));
    return first && last ? { first, last } : null;
  }

  /** The newest `limit` messages of a room, oldest first (history preload). */
  async latest(roomJid: string, limit: number): Promise<ArchivedMessage[]> {
    return (await this.query(roomJid, { limit, reverse: true })).items;
  }

  /**
   * Deletes all of a room's messages: those still queued and those on disk. Messages appended
   * after this call (a room of the same name created again) are kept.
   */
  /** Resolves once done; a failure is logged (through `onError`), never rejected. */
  removeRoom(roomJid: string): Promise<void> {
    const waiting = this.waiting;
    if (waiting) {
      // The waiting step writes the other rooms' messages before this deletion; later appends
      // go to a step behind it.
      waiting.items = waiting.items.filter((p) => p.roomJid !== roomJid);
      this.waiting = null;
    }
    const run = this.enqueue(async () => {
      let ops: BatchOp[] = [];
      for await (const [k] of this.kv.range({ gt: roomJid + SEP, lt: roomJid + END })) {
        ops.push(this.kv.batchDel(k));
        if (ops.length === DELETE_CHUNK) {
          await this.store.batch(ops);
          ops = [];
        }
      }
      await this.store.batch(ops);
    }, 'archive delete');
    return run.catch(() => {});
  }
}

/** Parses a stored message back into an element. */
export function parseArchived(xml: string): Element {
  return parseFrame(xml, PARSE_LIMITS);
}

function key(roomJid: string, id: string): string {
  return roomJid + SEP + id;
}

/** The key prefix of every ulid minted at `ms` or later. */
function timeKey(roomJid: string, ms: number): string {
  return roomJid + SEP + encodeTime(Math.min(Math.max(0, Math.floor(ms)), TIME_MAX), 10);
}

/** Iterator bounds for a query, or null when the range is empty. */
function bounds(roomJid: string, q: ArchiveQuery): { gt?: string; gte?: string; lt: string } | null {
  // Lower bound: the largest of the room prefix, start (inclusive) and after-id (exclusive).
  let lower = { key: roomJid + SEP, inclusive: false };
  const raise = (k: string, inclusive: boolean) => {
    if (k > lower.key || (k === lower.key && !inclusive)) lower = { key: k, inclusive };
  };
  if (q.start !== undefined) {
    if (q.start > TIME_MAX) return null;
    raise(timeKey(roomJid, Math.ceil(q.start)), true);
  }
  if (q.afterId !== undefined) raise(key(roomJid, q.afterId), false);
  // Upper bound (exclusive): the smallest of the room's end, end + 1 ms and before-id.
  let upper = roomJid + END;
  if (q.end !== undefined) {
    if (q.end < 0) return null;
    if (Math.floor(q.end) + 1 <= TIME_MAX) upper = min(upper, timeKey(roomJid, Math.floor(q.end) + 1));
  }
  if (q.beforeId !== undefined) upper = min(upper, key(roomJid, q.beforeId));
  if (lower.key >= upper) return null;
  return lower.inclusive ? { gte: lower.key, lt: upper } : { gt: lower.key, lt: upper };
}

function min(a: string, b: string): string {
  return a < b ? a : b;
}
