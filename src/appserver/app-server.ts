import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerContext } from '../core/context.ts';
import { parseJid } from '../core/jid.ts';
import { AppServerNodeStore, type AppServerNodeRecord } from '../store/push.ts';
import { formValues, xml, type Element } from '../xml/element.ts';
import { errorReply, StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { LocalAppServer } from '../push/dispatcher.ts';

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

/** A node: its stored record, and the notifications kept for it. */
interface NodeState {
  node: string;
  stored: AppServerNodeRecord;
  /** The secret's hash as bytes, decoded on first use. */
  secretHash: Buffer | null | undefined;
  /** While the node's first publish is being stored: later publishes are kept after it. */
  creating: Promise<unknown> | null;
  /** Kept notifications, oldest first, and their sequence numbers (arrival order). */
  records: PushNotificationRecord[];
  seqs: number[];
  /** The start of each record's JSON: `{"node":...`. */
  jsonHead: string;
}

/** Told of each accepted notification, with its JSON (as served over HTTP) made once for all. */
export type NotificationListener = (n: PushNotificationRecord, seq: number, json: string) => void;

/** JSON of a string, remembering the last one: a room message's notifications share their values. */
class JsonMemo {
  private last: string | null = null;
  private json = 'null';
  of(value: string | null): string {
    if (value === null) return 'null';
    if (value !== this.last) {
      this.last = value;
      this.json = JSON.stringify(value);
    }
    return this.json;
  }
}

/**
 * The built-in XEP-0357 app server at push.<domain>: a pubsub service that accepts notification
 * publishes, checks each node's secret (set by the node's first publish, from its
 * publish-options), and keeps the last `appServer.keepPerNode` notifications per node for HTTP
 * inspection, Server-Sent Events and webhooks (wired in src/appserver/index.ts). Its own
 * server's push dispatcher hands it notifications directly (`publishLocal`); other senders
 * publish with iqs.
 */
export class AppServer implements LocalAppServer {
  readonly stats: AppServerStats = { received: 0, refused: 0 };
  private readonly nodes = new Map<string, NodeState>();
  private readonly listeners = new Set<NotificationListener>();
  private readonly store: AppServerNodeStore;
  private seq = 0;
  /** The arrival time of the last record, as a string, and its millisecond. */
  private lastMs = -1;
  private lastTime = '';
  /** The last publisher JID seen by `publishLocal`, and its normalized form. */
  private lastFrom = '';
  private lastFromNorm = '';
  private readonly fromJson = new JsonMemo();
  private readonly senderJson = new JsonMemo();
  private readonly bodyJson = new JsonMemo();
  /** Item ids: unique across restarts without a random draw per publish. */
  private readonly idPrefix = `${randomBytes(6).toString('base64url')}-`;

  constructor(
    private readonly ctx: ServerContext,
    readonly domain: string,
  ) {
    this.store = new AppServerNodeStore(ctx.store);
    ctx.router.register(domain, (stanza) => this.handle(stanza));
  }

  async load(): Promise<void> {
    for (const [node, rec] of await this.store.all()) this.nodes.set(node, this.nodeState(node, rec));
  }

  private nodeState(node: string, stored: AppServerNodeRecord): NodeState {
    return { node, stored, secretHash: undefined, creating: null, records: [], seqs: [], jsonHead: `{"node":${JSON.stringify(node)}` };
  }

  /** Called for every accepted notification; returns what unsubscribes. */
  onNotification(listener: NotificationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The notifications kept for a node (or for every node), oldest first. */
  notifications(node?: string): PushNotificationRecord[] {
    if (node !== undefined) return this.nodes.get(node)?.records.slice() ?? [];
    const all: { seq: number; record: PushNotificationRecord }[] = [];
    for (const k of this.nodes.values()) for (let i = 0; i < k.records.length; i++) all.push({ seq: k.seqs[i]!, record: k.records[i]! });
    return all.sort((a, b) => a.seq - b.seq).map((e) => e.record);
  }

  /**
   * A notification from this server's own push dispatcher: what an iq publish would carry,
   * without the iq (see `LocalAppServer`). Null means accepted; else the error the publish
   * would have been answered with.
   */
  publishLocal(from: string, node: string, secret: string | null, count: number, sender: string | null, body: string | null): StanzaError | null | Promise<StanzaError | null> {
    if (from !== this.lastFrom) {
      this.lastFrom = from;
      this.lastFromNorm = parseJid(from)?.full ?? from;
    }
    try {
      const kept = this.accept(node, this.lastFromNorm, secret, count, sender, body);
      if (typeof kept === 'number') return null;
      return kept.then(
        () => null,
        (err: unknown) => this.failure(err),
      );
    } catch (err) {
      return this.failure(err);
    }
  }

  private failure(err: unknown): StanzaError {
    if (err instanceof StanzaError) return err;
    this.ctx.log.error({ err }, 'push app server failure');
    return new StanzaError('internal-server-error');
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
    const summary = formValues(notification.getChild('x', NS.DATA));
    const count = Number(summary.get('message-count')?.[0] ?? '0');
    const seq = await this.accept(
      node,
      parseJid(from)?.full ?? from,
      secret ?? null,
      Number.isFinite(count) ? count : 0,
      summary.get('last-message-sender')?.[0] ?? null,
      summary.get('last-message-body')?.[0] ?? null,
    );
    return xml('pubsub', { xmlns: NS.PUBSUB }, xml('publish', { node }, xml('item', { id: `${this.idPrefix}${seq.toString(36)}` })));
  }

  /**
   * Checks the node's secret (its first publish sets it) and keeps the notification; resolves
   * to its sequence number, at once unless the node is new (it is stored first).
   */
  private accept(node: string, from: string, secret: string | null, count: number, sender: string | null, body: string | null): number | Promise<number> {
    const state = this.nodes.get(node);
    if (!state) {
      // The first publish creates the node, protected by its secret if it came with one.
      const created = this.nodeState(node, { secretHash: secret ? hash(secret).toString('hex') : null, created: Date.now() });
      this.nodes.set(node, created);
      const done = this.store.save(node, created.stored).then(() => this.keep(created, from, count, sender, body));
      created.creating = done;
      const forget = () => {
        if (created.creating === done) created.creating = null;
      };
      done.then(forget, forget);
      return done;
    }
    if (state.stored.secretHash) {
      if (!secret) throw this.refuse('not-authorized', 'this node requires its secret in the publish-options');
      state.secretHash ??= Buffer.from(state.stored.secretHash, 'hex');
      if (!timingSafeEqual(hash(secret), state.secretHash)) throw this.refuse('forbidden', 'wrong secret for this node');
    }
    if (state.creating) {
      // Accepted while the node's first publish is still being stored: kept after it.
      const keep = () => this.keep(state, from, count, sender, body);
      return state.creating.then(keep, keep);
    }
    return this.keep(state, from, count, sender, body);
  }

  private keep(state: NodeState, from: string, count: number, sender: string | null, body: string | null): number {
    const now = Date.now();
    if (now !== this.lastMs) {
      this.lastMs = now;
      this.lastTime = new Date(now).toISOString();
    }
    const record: PushNotificationRecord = {
      node: state.node,
      time: this.lastTime,
      from,
      'message-count': count,
      'last-message-sender': sender,
      'last-message-body': body,
    };
    const seq = ++this.seq;
    state.records.push(record);
    state.seqs.push(seq);
    const max = Math.max(1, this.ctx.config.appServer.keepPerNode);
    while (state.records.length > max) {
      state.records.shift();
      state.seqs.shift();
    }
    this.stats.received++;
    if (this.listeners.size === 0) return seq;
    // JSON.stringify(record), piece by piece: the node's and the message's parts are made once.
    const json =
      typeof from === 'string'
        ? `${state.jsonHead},"time":"${record.time}","from":${this.fromJson.of(from)},"message-count":${JSON.stringify(count)},"last-message-sender":${this.senderJson.of(sender)},"last-message-body":${this.bodyJson.of(body)}}`
        : JSON.stringify(record);
    for (const l of this.listeners) {
      try {
        l(record, seq, json);
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
