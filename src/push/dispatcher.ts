import { randomBytes } from 'node:crypto';
import type { ServerContext } from '../core/context.ts';
import type { Element } from '../xml/element.ts';
import { errorCondition, StanzaError } from '../xml/errors.ts';
import { buildNotification, publishOptionsElement, type PushContent } from './notification.ts';
import type { PushRegistration, Registrations } from './registrations.ts';

/** Counters a benchmark or the metrics endpoint reads. */
export interface PushStats {
  /** Notifications sent to app servers. */
  sent: number;
  /** Answered with a result. */
  delivered: number;
  /** Answered with an error that counts (any type but `wait`). */
  errors: number;
  /** Answered with a `wait` error (not counted against the registration). */
  waits: number;
  /** No answer within `push.timeoutSeconds` (counted). */
  timeouts: number;
  /** Registrations removed after `push.maxErrors` errors. */
  removed: number;
  /** Notifications awaiting an answer. */
  inFlight: number;
  /** Notifications waiting for their turn to be sent (a large room is spread over several turns). */
  queued: number;
}

/** Told of every settled notification (tests and benchmarks). */
export type PushOutcome = { registration: PushRegistration; outcome: 'result' | 'error' | 'wait' | 'timeout'; condition?: string };

/**
 * The built-in app server, which the dispatcher hands its notifications directly: the same
 * publish an iq would carry, without building, routing and parsing one, on behalf of `owner`
 * (the registration's account). Answers null for a result, or the error it would have answered
 * (asynchronous when the node's owner is being stored).
 */
export interface LocalAppServer {
  readonly domain: string;
  publishLocal(owner: string, from: string, node: string, count: number, sender: string | null, body: string | null, room: string | null): StanzaError | null | Promise<StanzaError | null>;
  /**
   * An account of this server enables push on this app server with this node: the node becomes
   * that account's (only its registrations publish to it from then on). Null when it is (or
   * already was) the account's; an error when another account has it or it cannot be stored.
   */
  claim(node: string, owner: string): StanzaError | null | Promise<StanzaError | null>;
}

/** An app server's answer: a result, an error (type, condition, text), or null for no answer in time. */
type Answer = { type: 'result' } | { type: 'error'; errorType?: string; condition?: string; text?: string } | null;

const RESULT: Answer = { type: 'result' };

/** What a registration's notifications share, worked out on its first notification. */
interface Prepared {
  /** The `<publish-options>` element, shared read-only by every notification routed for it. */
  options: Element | null;
}

/** Notifications sent per event-loop turn: a large room's fan-out never blocks the server long. */
const CHUNK = 100;

/**
 * Sends notifications as iq sets (through the router; to the built-in app server directly) and
 * keeps each registration's error count: a result resets it; an error of any type but `wait`,
 * or a timeout, adds one; at `push.maxErrors` the registration is removed (XEP-0357 section 8
 * lets the server disable it). Notifications are queued in order and sent CHUNK per turn.
 */
export class PushDispatcher {
  readonly stats: PushStats = { sent: 0, delivered: 0, errors: 0, waits: 0, timeouts: 0, removed: 0, inFlight: 0, queued: 0 };
  readonly listeners = new Set<(o: PushOutcome) => void>();
  private stopped = false;
  private readonly idPrefix = `push-${randomBytes(6).toString('base64url')}-`;
  private seq = 0;
  private local: LocalAppServer | null = null;
  /** The queue, as three parallel arrays read from `head` on. */
  private qRegs: (PushRegistration | undefined)[] = [];
  private qContents: (PushContent | undefined)[] = [];
  private qCounts: number[] = [];
  private head = 0;
  private scheduled = false;

  constructor(
    private readonly ctx: ServerContext,
    private readonly registrations: Registrations,
  ) {}

  /** Publishes to this app server's JID (its bare domain) go to it directly. */
  attachLocal(app: LocalAppServer | null): void {
    this.local = app;
  }

  /** Queues one notification of `content` (which says who publishes it) with this message-count. */
  push(reg: PushRegistration, content: PushContent, count: number): void {
    if (this.stopped || reg.removed) return;
    this.qRegs.push(reg);
    this.qContents.push(content);
    this.qCounts.push(count);
    this.stats.queued++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.pump);
    }
  }

  stop(): void {
    this.stopped = true;
    this.qRegs = [];
    this.qContents = [];
    this.qCounts = [];
    this.head = 0;
    this.stats.queued = 0;
  }

  /** Sends the next CHUNK queued notifications, and comes back next turn for the rest. */
  private readonly pump = (): void => {
    this.scheduled = false;
    if (this.stopped) return;
    const regs = this.qRegs;
    const contents = this.qContents;
    const counts = this.qCounts;
    const end = Math.min(regs.length, this.head + CHUNK);
    for (let i = this.head; i < end; i++) {
      const reg = regs[i]!;
      const content = contents[i]!;
      regs[i] = undefined;
      contents[i] = undefined;
      this.head = i + 1;
      this.stats.queued--;
      if (reg.removed) continue;
      try {
        this.send(reg, content, counts[i]!);
      } catch (err) {
        this.ctx.log.error({ err }, 'push dispatch failed');
      }
      if (this.stopped) return;
    }
    if (this.head >= regs.length) {
      regs.length = contents.length = counts.length = 0;
      this.head = 0;
      return;
    }
    if (this.head >= 4096) {
      regs.splice(0, this.head);
      contents.splice(0, this.head);
      counts.splice(0, this.head);
      this.head = 0;
    }
    this.scheduled = true;
    setImmediate(this.pump);
  };

  private prepared(reg: PushRegistration): Prepared {
    if (reg.prepared) return reg.prepared;
    const form = reg.formEl;
    return (reg.prepared = { options: form ? publishOptionsElement(form) : null });
  }

  private send(reg: PushRegistration, content: PushContent, count: number): void {
    const local = this.local;
    this.stats.sent++;
    this.stats.inFlight++;
    if (local && reg.jid === local.domain) {
      let answer: StanzaError | null | Promise<StanzaError | null>;
      try {
        answer = local.publishLocal(reg.user, content.from, reg.node, count, content.sender, content.body, content.room);
      } catch (err) {
        answer = err instanceof StanzaError ? err : this.internalError(err);
      }
      if (answer instanceof Promise) {
        answer
          .then(
            (a) => this.settle(reg, answerOf(a)),
            (err) => this.settle(reg, answerOf(err instanceof StanzaError ? err : this.internalError(err))),
          )
          .catch(this.settleFailed);
      } else this.settle(reg, answerOf(answer));
      return;
    }
    const iq = buildNotification({ id: `${this.idPrefix}${(this.seq++).toString(36)}`, to: reg.jid, node: reg.node, count, content, publishOptions: this.prepared(reg).options });
    this.ctx.router
      .request(iq, this.ctx.config.push.timeoutSeconds * 1000)
      .then(
        (reply) => this.settle(reg, reply ? (reply.attrs.type === 'result' ? RESULT : { type: 'error', ...errorConditionOf(reply) }) : null),
        (err) => this.ctx.log.error({ err }, 'push dispatch failed'),
      )
      .catch(this.settleFailed);
  }

  /** Settling runs on a promise nobody awaits: its failure is logged, never left unhandled. */
  private readonly settleFailed = (err: unknown): void => {
    this.ctx.log.error({ err }, 'settling a push notification failed');
  };

  private internalError(err: unknown): StanzaError {
    this.ctx.log.error({ err }, 'push app server failure');
    return new StanzaError('internal-server-error');
  }

  private settle(reg: PushRegistration, answer: Answer): void {
    this.stats.inFlight--;
    if (this.stopped) return;
    if (answer && answer.type === 'result') {
      this.stats.delivered++;
      this.registrations.noteResult(reg);
      return this.tell({ registration: reg, outcome: 'result' });
    }
    const { errorType: type, condition, text } = answer ?? { errorType: undefined, condition: undefined, text: undefined };
    if (answer && type === 'wait') {
      this.stats.waits++;
      this.ctx.log.debug({ user: reg.user, appServer: reg.jid, node: reg.node, condition }, 'push app server asks to wait: not counted');
      return this.tell({ registration: reg, outcome: 'wait', condition });
    }
    if (answer) this.stats.errors++;
    else this.stats.timeouts++;
    const errors = this.registrations.noteError(reg);
    const where = { user: reg.user, scope: reg.scope, appServer: reg.jid, node: reg.node, errors, maxErrors: this.ctx.config.push.maxErrors };
    if (!answer) this.ctx.log.info(where, `push app server ${reg.jid} did not answer within ${this.ctx.config.push.timeoutSeconds} s`);
    else if (condition === 'remote-server-not-found' || condition === 'remote-server-timeout') {
      this.ctx.log.warn({ ...where, condition, text }, `push app server ${reg.jid} is unreachable: its domain is not served here and this server does not federate (${condition})`);
    } else this.ctx.log.info({ ...where, condition, type, text }, `push app server ${reg.jid} answered an error`);
    this.tell({ registration: reg, outcome: answer ? 'error' : 'timeout', condition: condition ?? undefined });
    if (errors >= this.ctx.config.push.maxErrors && !reg.removed) {
      this.stats.removed++;
      this.ctx.log.warn(where, 'push registration disabled and removed after too many errors');
      this.registrations.remove(reg).catch((err) => this.ctx.log.error({ err }, 'could not remove a push registration'));
    }
  }

  private tell(o: PushOutcome): void {
    for (const l of this.listeners) {
      try {
        const r: unknown = l(o);
        if (r instanceof Promise) r.catch((err: unknown) => this.ctx.log.error({ err }, 'push outcome listener failed'));
      } catch (err) {
        // One listener's bug must not skip the others nor the registration's error count.
        this.ctx.log.error({ err }, 'push outcome listener failed');
      }
    }
  }
}

function errorConditionOf(reply: Element): { errorType?: string; condition?: string; text?: string } {
  const { type, condition, text } = errorCondition(reply);
  return { errorType: type, condition, text };
}

/** The local app server's answer as a routed reply would have carried it. */
function answerOf(err: StanzaError | null): Answer {
  return err ? { type: 'error', errorType: err.type, condition: err.condition, text: err.text } : RESULT;
}
