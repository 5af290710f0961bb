import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerContext } from '../core/context.ts';
import { parseJid } from '../core/jid.ts';
import { AppServerNodeStore, type AppServerNodeRecord } from '../store/push.ts';
import { formValues, xml, type Element } from '../xml/element.ts';
import { errorReply, StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';

/** One recorded notification, as shown over HTTP and posted to webhooks. */
export interface PushNotificationRecord {
  node: string;
  /** ISO 8601 time of arrival. */
  time: string;
  /** Who published it (the MUC domain, or a user's domain). */
  from: string;
  'message-count': number;
  'last-message-sender': string | null;
  'last-message-body': string | null;
}

export interface AppServerStats {
  /** Notifications accepted. */
  received: number;
  /** Publishes refused (bad request, secret mismatch). */
  refused: number;
}

const PUBSUB_ERRORS = 'http://jabber.org/protocol/pubsub#errors';
const hash = (secret: string) => createHash('sha256').update(secret).digest();

/**
 * The built-in XEP-0357 app server at push.<domain>: a pubsub service that accepts notification
 * publishes, checks each node's secret (set by the node's first publish, from its
 * publish-options), and keeps the last `appServer.keepPerNode` notifications per node for HTTP
 * inspection, Server-Sent Events and webhooks (wired in src/appserver/index.ts).
 */
export class AppServer {
  readonly stats: AppServerStats = { received: 0, refused: 0 };
  private readonly nodes = new Map<string, AppServerNodeRecord>();
  private readonly kept = new Map<string, { seq: number; record: PushNotificationRecord }[]>();
  private readonly listeners = new Set<(n: PushNotificationRecord, seq: number) => void>();
  private readonly store: AppServerNodeStore;
  private seq = 0;
  /** Item ids: unique across restarts without a random draw per publish. */
  private readonly idPrefix = `${randomBytes(6).toString('base64url')}-`;

  constructor(
    private readonly ctx: ServerContext,
    readonly domain: string,
  ) {
    this.store = new AppServerNodeStore(ctx.store);
    ctx.router.register(domain, (stanza) => void this.handle(stanza));
  }

  async load(): Promise<void> {
    for (const [node, rec] of await this.store.all()) this.nodes.set(node, rec);
  }

  /** Called for every accepted notification; returns what unsubscribes. */
  onNotification(listener: (n: PushNotificationRecord, seq: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The notifications kept for a node (or for every node), oldest first. */
  notifications(node?: string): PushNotificationRecord[] {
    if (node !== undefined) return (this.kept.get(node) ?? []).map((e) => e.record);
    const all: { seq: number; record: PushNotificationRecord }[] = [];
    for (const list of this.kept.values()) all.push(...list);
    return all.sort((a, b) => a.seq - b.seq).map((e) => e.record);
  }

  private async handle(stanza: Element): Promise<void> {
    const type = stanza.attrs.type as string | undefined;
    if (stanza.name !== 'iq') {
      if (stanza.name === 'message' && type !== 'error') this.ctx.router.bounce(stanza, 'service-unavailable');
      return;
    }
    if (type === 'result' || type === 'error') return;
    try {
      const to = parseJid(stanza.attrs.to as string);
      if (!to || to.local || to.resource) throw new StanzaError('service-unavailable', 'only the push service itself answers here');
      const payload = stanza.children.find((c): c is Element => typeof c !== 'string');
      if (!payload) throw new StanzaError('bad-request');
      const ns = payload.attrs.xmlns as string | undefined;
      let result: Element | undefined;
      if (type === 'get' && payload.name === 'query' && ns === NS.DISCO_INFO) result = this.discoInfo(payload);
      else if (type === 'get' && payload.name === 'query' && ns === NS.DISCO_ITEMS) result = xml('query', { xmlns: NS.DISCO_ITEMS });
      else if (type === 'set' && payload.name === 'pubsub' && ns === NS.PUBSUB) result = await this.publish(payload, stanza.attrs.from as string);
      else throw new StanzaError('service-unavailable');
      const reply = xml('iq', { type: 'result', id: stanza.attrs.id, to: stanza.attrs.from, from: stanza.attrs.to });
      if (result) reply.cnode(result);
      this.ctx.router.route(reply);
    } catch (err) {
      if (!(err instanceof StanzaError)) {
        this.ctx.log.error({ err }, 'push app server failure');
        err = new StanzaError('internal-server-error');
      }
      this.ctx.router.route(errorReply(stanza, err as StanzaError));
    }
  }

  private discoInfo(payload: Element): Element {
    if (payload.attrs.node) throw new StanzaError('item-not-found');
    const q = xml('query', { xmlns: NS.DISCO_INFO }, xml('identity', { category: 'pubsub', type: 'push', name: 'mucpush app server' }));
    for (const f of [NS.DISCO_INFO, NS.DISCO_ITEMS, NS.PUBSUB, `${NS.PUBSUB}#publish`, `${NS.PUBSUB}#publish-options`, NS.PUSH]) q.c('feature', { var: f });
    return q;
  }

  private async publish(pubsub: Element, from: string): Promise<Element> {
    const publish = pubsub.getChild('publish');
    const node = publish?.attrs.node as string | undefined;
    if (!publish || !node) throw this.refuse('bad-request', 'a publish with a node is required', 'nodeid-required');
    const notification = publish.getChild('item')?.getChild('notification', NS.PUSH);
    if (!notification) throw this.refuse('bad-request', 'the item must carry a urn:xmpp:push:0 notification', 'invalid-payload');
    const options = formValues(pubsub.getChild('publish-options')?.getChild('x', NS.DATA));
    const secret = options.get('secret')?.[0];
    let state = this.nodes.get(node);
    if (!state) {
      // The first publish creates the node, protected by its secret if it came with one.
      state = { secretHash: secret ? hash(secret).toString('hex') : null, created: Date.now() };
      this.nodes.set(node, state);
      await this.store.save(node, state);
    } else if (state.secretHash) {
      if (!secret) throw this.refuse('not-authorized', 'this node requires its secret in the publish-options');
      if (!timingSafeEqual(hash(secret), Buffer.from(state.secretHash, 'hex'))) throw this.refuse('forbidden', 'wrong secret for this node');
    }
    const summary = formValues(notification.getChild('x', NS.DATA));
    const count = Number(summary.get('message-count')?.[0] ?? '0');
    const record: PushNotificationRecord = {
      node,
      time: new Date().toISOString(),
      from: parseJid(from)?.full ?? from,
      'message-count': Number.isFinite(count) ? count : 0,
      'last-message-sender': summary.get('last-message-sender')?.[0] ?? null,
      'last-message-body': summary.get('last-message-body')?.[0] ?? null,
    };
    const seq = this.keep(record);
    return xml('pubsub', { xmlns: NS.PUBSUB }, xml('publish', { node }, xml('item', { id: `${this.idPrefix}${seq.toString(36)}` })));
  }

  private keep(record: PushNotificationRecord): number {
    const seq = ++this.seq;
    let list = this.kept.get(record.node);
    if (!list) this.kept.set(record.node, (list = []));
    list.push({ seq, record });
    const max = Math.max(1, this.ctx.config.appServer.keepPerNode);
    if (list.length > max) list.splice(0, list.length - max);
    this.stats.received++;
    for (const l of this.listeners) {
      try {
        l(record, seq);
      } catch (err) {
        this.ctx.log.error({ err }, 'push notification listener failed');
      }
    }
    return seq;
  }

  private refuse(condition: 'bad-request' | 'not-authorized' | 'forbidden', text: string, pubsubCondition?: string): StanzaError {
    this.stats.refused++;
    return new StanzaError(condition, text, undefined, pubsubCondition ? xml(pubsubCondition, { xmlns: PUBSUB_ERRORS }) : undefined);
  }
}
