import { WorkTracker } from '../core/work-tracking.ts';
import { randomBytes } from 'node:crypto';
import type { Connection } from '../transport/connection.ts';
import type { Element } from '../xml/element.ts';
import type { Jid } from '../core/jid.ts';

/** One unacknowledged outbound stanza, kept for XEP-0198 resends and bounces. */
export interface Unacked {
  el: Element;
  text: string;
}

/** XEP-0198 state: counters modulo 2^32, the unacked queue, the resumption token. */
export interface StreamManagement {
  /** Resumption id; null when the client did not ask for resume. */
  id: string | null;
  /** Stanzas handled from the client. */
  inbound: number;
  /** Stanzas the client acknowledged. */
  acked: number;
  unacked: Unacked[];
  /** Characters of the unacked stanzas' text (what the queue costs in memory). */
  unackedBytes: number;
  requestPending: boolean;
  hibernationTimer: NodeJS.Timeout | null;
}

export interface SessionObserver {
  queued(session: Session, stanza: Element): void;
  overflow(session: Session): void;
  /** Stanzas from and to bound sessions, counted for /metrics. */
  readonly traffic: StanzaTraffic;
}

export interface StanzaTraffic {
  stanzasIn: number;
  stanzasOut: number;
}

export type SessionState = 'active' | 'hibernated' | 'closed';

/** Messages sent as one element to several resources (to a bare JID), with those sessions. */
export const sharedDeliveries = new WeakMap<Element, Session[]>();

/** A bound resource of a local account. Survives its connection while hibernated. */
export class Session {
  state: SessionState = 'active';
  /** Why the server ended it (set by SessionLifecycle.close), for the disconnection log line. */
  closeReason: string | null = null;
  connection: Connection | null;
  /** The last available presence broadcast by the client; null while unavailable. */
  presence: Element | null = null;
  priority = 0;
  /** Requested the roster: gets roster pushes (RFC 6121 2.1.6). */
  rosterRequested = false;
  sm: StreamManagement | null = null;
  /** Directed presences sent to these JIDs (they get unavailable when we go offline). */
  readonly directedPresence = new Set<string>();
  readonly created = Date.now();
  /** The work this session's stanzas started; stream management acknowledges after it (see core/work-tracking.ts). */
  readonly work = new WorkTracker();
  lastActivity = Date.now();
  /** The lifecycle, told of stanzas queued while hibernated and of an overflowing queue. */
  observer: SessionObserver | null = null;
  /** Unacknowledged stanzas, and their bytes, kept before the session is given up (XEP-0198). */
  maxQueue = Infinity;
  maxQueueBytes = Infinity;

  constructor(
    readonly jid: Jid,
    connection: Connection,
  ) {
    this.connection = connection;
  }

  get available(): boolean {
    return this.presence !== null && this.state !== 'closed';
  }

  /**
   * Queues a stanza for this client. `text` is the exact serialization (with its own `to`),
   * so a fan-out serializes once. Returns false when the session can no longer take it.
   */
  send(el: Element, text: string = el.toString()): boolean {
    if (this.state === 'closed') return false;
    if (this.observer) this.observer.traffic.stanzasOut++;
    if (this.sm) {
      this.sm.unacked.push({ el, text });
      this.sm.unackedBytes += text.length;
      if (this.sm.unacked.length > this.maxQueue || this.sm.unackedBytes > this.maxQueueBytes) {
        // A client that never acks (or never resumes) must not grow the queue without bound.
        this.observer?.overflow(this);
        return true;
      }
    }
    if (this.state === 'hibernated') this.observer?.queued(this, el);
    if (this.connection) {
      this.connection.write(text);
      if (this.sm && !this.sm.requestPending) {
        this.sm.requestPending = true;
        this.connection.write('<r xmlns="urn:xmpp:sm:3"/>');
      }
    }
    return true;
  }

  enableSm(resume: boolean): StreamManagement {
    this.sm = {
      id: resume ? randomBytes(18).toString('base64url') : null,
      inbound: 0,
      acked: 0,
      unacked: [],
      unackedBytes: 0,
      requestPending: false,
      hibernationTimer: null,
    };
    return this.sm;
  }

  /** Applies a client's <a h=.../>: drops what it confirms. False when h is impossible. */
  ack(h: number): boolean {
    const sm = this.sm;
    if (!sm) return true;
    const count = (h - sm.acked) >>> 0;
    if (count > sm.unacked.length) return false;
    for (const u of sm.unacked.splice(0, count)) sm.unackedBytes -= u.text.length;
    sm.acked = h >>> 0;
    sm.requestPending = false;
    return true;
  }
}
