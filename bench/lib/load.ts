import { escapeXml, RawClient, type Target } from './client.ts';
import { processSyscalls } from './server.ts';
import { CpuMeter, now, pool, Recorder, round, sleep, until } from './util.ts';

/**
 * Groupchat load over already-joined clients. Each message body carries a marker
 * `T[<send time ms>|<sender id>]`; receivers find it with indexOf, so the cost per delivery on
 * the generator side is a few string searches.
 */

const PAD = 'the quick brown fox jumps over the lazy dog';

/** One room under load: its occupants' connections and which of them send. */
export interface Group {
  room: string;
  clients: RawClient[];
  /** Indexes into `clients` of the senders. */
  senders: number[];
}

interface Sender {
  id: number;
  client: RawClient;
  head: string;
  occupants: number;
  inflight: number;
  /** Messages sent so far; the next one's number. */
  sent: number;
  /** Every client of the sender's room (they all must get each of its messages once). */
  receivers: RawClient[];
}

/** Exactly-once check over a run: deliveries that never came, and those that came more than once. */
export interface DeliveryCheck {
  missing: number;
  duplicated: number;
}

/**
 * A chunk handler for one connection: counts messages carrying a marker `T[time|sender|seq]`
 * and calls `onMsg` with the send time, the sender id and the sender's message number.
 * Tolerates markers split across chunks.
 */
export function markerCounter(onMsg: (sentAt: number, sender: number, at: number, seq: number) => void): (chunk: string) => void {
  let carry = '';
  return (chunk: string) => {
    const s = carry ? carry + chunk : chunk;
    carry = '';
    const at = now();
    let pos = 0;
    for (;;) {
      const m = s.indexOf('<message', pos);
      if (m < 0) {
        // Keep a tail that could be the start of a split "<message".
        const keep = Math.max(pos, s.length - 7);
        if (keep < s.length) carry = s.slice(keep);
        return;
      }
      const t = s.indexOf('T[', m);
      const bar = t < 0 ? -1 : s.indexOf('|', t);
      const bar2 = bar < 0 ? -1 : s.indexOf('|', bar + 1);
      const end = bar2 < 0 ? -1 : s.indexOf(']', bar2);
      if (end < 0) {
        carry = s.slice(m);
        return;
      }
      onMsg(+s.slice(t + 2, bar), +s.slice(bar + 1, bar2), at, +s.slice(bar2 + 1, end));
      pos = end + 1;
    }
  };
}

export interface LoadResult {
  seconds: number;
  messagesPerSecond: number;
  deliveriesPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  samples: number;
  generatorCpuPct: number;
  serverCpuPct: number | null;
  otherCpuPct: number;
  /** write(2)-family calls of the server per second, and deliveries per such call (batching). */
  serverWritesPerSecond: number | null;
  deliveriesPerWrite: number | null;
}

/** Drives groupchat traffic over `groups`; call `closedLoop` or `fixedRate`, then `finish`. */
export class Load {
  private readonly senders: Sender[] = [];
  private readonly rec = new Recorder();
  private measuring = false;
  private running = false;
  private windowDeliveries = 0;
  private windowSent = 0;
  private sentTotal = 0;
  private expectedTotal = 0;
  private receivedTotal = 0;
  private inflightLimit = 0;
  /** With exact tracking: per receiver, how often each `sender:seq` arrived. */
  private readonly seen = new Map<RawClient, Map<number, Uint16Array>>();

  constructor(
    groups: Group[],
    private readonly serverPid: number | null,
    private readonly opts: { exactlyOnce?: boolean } = {},
  ) {
    let id = 0;
    for (const g of groups) {
      const mine = new Map<RawClient, Sender>();
      for (const si of g.senders) {
        const client = g.clients[si]!;
        const s: Sender = {
          id: id++,
          client,
          head: `<message to='${escapeXml(g.room)}' type='groupchat'><body>bench T[`,
          occupants: g.clients.length,
          inflight: 0,
          sent: 0,
          receivers: g.clients,
        };
        this.senders.push(s);
        mine.set(client, s);
      }
      for (const c of g.clients) {
        const own = mine.get(c);
        const seen = new Map<number, Uint16Array>();
        if (opts.exactlyOnce) this.seen.set(c, seen);
        c.hot(
          markerCounter((sentAt, sender, at, seq) => {
            this.receivedTotal++;
            if (opts.exactlyOnce) count(seen, sender, seq);
            if (this.measuring) {
              this.windowDeliveries++;
              this.rec.add(at - sentAt);
            }
            if (own && sender === own.id) this.echo(own);
          }),
        );
      }
    }
  }

  private send(s: Sender): void {
    s.inflight++;
    this.sentTotal++;
    this.expectedTotal += s.occupants;
    if (this.measuring) this.windowSent++;
    s.client.send(`${s.head}${now().toFixed(3)}|${s.id}|${s.sent++}] ${PAD}</body></message>`);
  }

  private echo(s: Sender): void {
    s.inflight--;
    if (this.running && this.inflightLimit > 0) while (s.inflight < this.inflightLimit) this.send(s);
  }

  private async window(warmupS: number, durationS: number): Promise<LoadResult> {
    await sleep(warmupS * 1000);
    this.rec.reset();
    this.windowDeliveries = 0;
    this.windowSent = 0;
    const cpu = new CpuMeter(this.serverPid);
    const io0 = this.serverPid ? processSyscalls(this.serverPid) : null;
    const t0 = now();
    this.measuring = true;
    await sleep(durationS * 1000);
    this.measuring = false;
    const secs = (now() - t0) / 1000;
    const usage = cpu.read();
    const writes = io0 && this.serverPid ? processSyscalls(this.serverPid).writes - io0.writes : NaN;
    const lat = this.rec.summary();
    return {
      seconds: round(secs),
      messagesPerSecond: Math.round(this.windowSent / secs),
      deliveriesPerSecond: Math.round(this.windowDeliveries / secs),
      p50: lat.p50,
      p90: lat.p90,
      p99: lat.p99,
      max: lat.max,
      samples: lat.count,
      ...usage,
      serverWritesPerSecond: Number.isFinite(writes) ? Math.round(writes / secs) : null,
      deliveriesPerWrite: Number.isFinite(writes) && writes > 0 ? round(this.windowDeliveries / writes, 1) : null,
    };
  }

  /** Every sender keeps `inflight` messages outstanding (next one sent when its own echo returns). */
  async closedLoop(inflight: number, warmupS: number, durationS: number): Promise<LoadResult> {
    this.running = true;
    this.inflightLimit = inflight;
    for (const s of this.senders) while (s.inflight < inflight) this.send(s);
    const r = await this.window(warmupS, durationS);
    this.running = false;
    this.inflightLimit = 0;
    await this.drain();
    return r;
  }

  /** Open loop: `rate` messages a second in total, round-robin over the senders. */
  async fixedRate(rate: number, warmupS: number, durationS: number): Promise<LoadResult & { targetMessagesPerSecond: number; saturated: boolean }> {
    this.running = true;
    let sent = 0;
    let next = 0;
    let saturated = false;
    const t0 = now();
    const timer = setInterval(() => {
      const due = Math.floor(((now() - t0) / 1000) * rate) - sent;
      const outstanding = this.expectedTotal - this.receivedTotal;
      // A server that cannot keep up would otherwise be buried: stop adding past a bound.
      if (outstanding > 2_000_000) {
        saturated = true;
        sent += due;
        return;
      }
      for (let i = 0; i < due; i++) {
        this.send(this.senders[next]!);
        next = (next + 1) % this.senders.length;
      }
      sent += due;
    }, 1);
    const r = await this.window(warmupS, durationS);
    clearInterval(timer);
    this.running = false;
    await this.drain();
    return { ...r, targetMessagesPerSecond: Math.round(rate), saturated };
  }

  /** Waits until every sent message reached every occupant (bounded). */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    return until(() => this.receivedTotal >= this.expectedTotal, timeoutMs, 10);
  }

  /** Deliveries still missing (sent x occupants - received); 0 when nothing was lost. */
  get missing(): number {
    return this.expectedTotal - this.receivedTotal;
  }

  /** Exactly-once over everything sent (needs `exactlyOnce`; call after `drain`). */
  deliveryCheck(): DeliveryCheck {
    let missing = 0;
    let duplicated = 0;
    for (const s of this.senders) {
      for (const r of s.receivers) {
        const counts = this.seen.get(r)?.get(s.id);
        for (let seq = 0; seq < s.sent; seq++) {
          const n = counts && seq < counts.length ? counts[seq]! : 0;
          if (n === 0) missing++;
          else duplicated += n - 1;
        }
      }
    }
    return { missing, duplicated };
  }

  get totals(): { sent: number; expected: number; received: number } {
    return { sent: this.sentTotal, expected: this.expectedTotal, received: this.receivedTotal };
  }
}

/** Counts one arrival of `sender`'s message `seq` (arrays grow as numbers come). */
function count(seen: Map<number, Uint16Array>, sender: number, seq: number): void {
  let a = seen.get(sender);
  if (!a || seq >= a.length) {
    const grown = new Uint16Array(Math.max(64, (seq + 1) * 2));
    if (a) grown.set(a);
    seen.set(sender, (a = grown));
  }
  a[seq]!++;
}

export const PASSWORD = 'bench-password';

/** Random suffix so a run against a long-lived server gets fresh rooms. */
export const RUN_ID = Math.random().toString(36).slice(2, 8);

/** Logs in `n` users (registering them when needed) with bounded concurrency. */
export async function loginMany(t: Target, names: string[], concurrency = 64, presence = true): Promise<RawClient[]> {
  return pool(names, concurrency, (name) => RawClient.login(t, name, PASSWORD, { register: true, presence }));
}

/** The first client creates the room, the others join with bounded concurrency; then a pause for the presence flood. */
export async function fillRoom(room: string, clients: RawClient[], nickPrefix: string, concurrency = 16): Promise<void> {
  await clients[0]!.join(room, `${nickPrefix}0`);
  await pool(clients.slice(1), concurrency, (c, i) => c.join(room, `${nickPrefix}${i + 1}`));
}

export async function closeAll(clients: RawClient[]): Promise<void> {
  await pool(clients, 256, (c) => c.close(1000));
}
