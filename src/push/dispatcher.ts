import { randomBytes } from 'node:crypto';
import type { ServerContext } from '../core/context.ts';
import type { Element } from '../xml/element.ts';
import { errorCondition } from '../xml/errors.ts';
import { buildNotification, type PushSummary } from './notification.ts';
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
}

/** Told of every settled notification (tests and benchmarks). */
export type PushOutcome = { registration: PushRegistration; outcome: 'result' | 'error' | 'wait' | 'timeout'; condition?: string };

/**
 * Sends notifications through the router as iq sets and keeps each registration's error count:
 * a result resets it; an error of any type but `wait`, or a timeout, adds one; at
 * `push.maxErrors` the registration is removed (XEP-0357 section 8 lets the server disable it).
 */
export class PushDispatcher {
  readonly stats: PushStats = { sent: 0, delivered: 0, errors: 0, waits: 0, timeouts: 0, removed: 0, inFlight: 0 };
  readonly listeners = new Set<(o: PushOutcome) => void>();
  private stopped = false;
  private readonly idPrefix = `push-${randomBytes(6).toString('base64url')}-`;
  private seq = 0;

  constructor(
    private readonly ctx: ServerContext,
    private readonly registrations: Registrations,
  ) {}

  /** Publishes one notification from `from` (the MUC domain, or the user's domain). */
  push(reg: PushRegistration, from: string, summary: PushSummary): void {
    if (this.stopped || reg.removed) return;
    const iq = buildNotification({ id: `${this.idPrefix}${(this.seq++).toString(36)}`, from, to: reg.jid, node: reg.node, summary, publishOptions: reg.formEl });
    this.stats.sent++;
    this.stats.inFlight++;
    this.ctx.router.request(iq, this.ctx.config.push.timeoutSeconds * 1000).then(
      (reply) => this.settle(reg, reply),
      (err) => this.ctx.log.error({ err }, 'push dispatch failed'),
    );
  }

  stop(): void {
    this.stopped = true;
  }

  private settle(reg: PushRegistration, reply: Element | null): void {
    this.stats.inFlight--;
    if (this.stopped) return;
    if (reply && reply.attrs.type === 'result') {
      this.stats.delivered++;
      this.registrations.noteResult(reg);
      return this.tell({ registration: reg, outcome: 'result' });
    }
    const { type, condition, text } = reply ? errorCondition(reply) : { type: undefined, condition: undefined, text: undefined };
    if (reply && type === 'wait') {
      this.stats.waits++;
      this.ctx.log.debug({ user: reg.user, appServer: reg.jid, node: reg.node, condition }, 'push app server asks to wait: not counted');
      return this.tell({ registration: reg, outcome: 'wait', condition });
    }
    if (reply) this.stats.errors++;
    else this.stats.timeouts++;
    const errors = this.registrations.noteError(reg);
    const where = { user: reg.user, scope: reg.scope, appServer: reg.jid, node: reg.node, errors, maxErrors: this.ctx.config.push.maxErrors };
    if (!reply) this.ctx.log.info(where, `push app server ${reg.jid} did not answer within ${this.ctx.config.push.timeoutSeconds} s`);
    else if (condition === 'remote-server-not-found' || condition === 'remote-server-timeout') {
      this.ctx.log.warn({ ...where, condition, text }, `push app server ${reg.jid} is unreachable: its domain is not served here and this server does not federate (${condition})`);
    } else this.ctx.log.info({ ...where, condition, type, text }, `push app server ${reg.jid} answered an error`);
    this.tell({ registration: reg, outcome: reply ? 'error' : 'timeout', condition: condition ?? undefined });
    if (errors >= this.ctx.config.push.maxErrors && !reg.removed) {
      this.stats.removed++;
      this.ctx.log.warn(where, 'push registration disabled and removed after too many errors');
      this.registrations.remove(reg).catch((err) => this.ctx.log.error({ err }, 'could not remove a push registration'));
    }
  }

  private tell(o: PushOutcome): void {
    for (const l of this.listeners) l(o);
  }
}
