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
  /** Its sequence number: increasing in arrival order (from 1 at each start), the SSE event id and the `since` cursor. */
  id: number;
  /** The account of this server it was for (its bare JID); null for a publish from another server. */
  account: string | null;
  /** The room it was about (its bare JID), when a room message caused it; else null. */
  room: string | null;
}

export interface AppServerStats {
  /** Notifications accepted. */
  received: number;
  /** Publishes refused (bad request, secret mismatch, someone else's node). */
  refused: number;
}

/** Who publishes: this server's push service for a registration's account, or an iq with its publish-options secret. */
type Publisher = { owner: string; room: string | null } | { secret: string | null };

const PUBSUB_ERRORS = 'http://jabber.org/protocol/pubsub#errors';
const hash = (secret: string) => createHash('sha256').update(secret).digest();

/** A node: its stored record, and the notifications kept for it. */
interface NodeState {
  node: string;
  stored: AppServerNodeRecord;
  /** The secret's hash as bytes, decoded on first use. */
  secretHash: Buffer | null | undefined;
  /** While the node's first publish (or its claim) is being stored: later publishes are kept after it. */
  creating: Promise<unknown> | null;
  /** Kept notifications, oldest first. */
  records: PushNotificationRecord[];
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
 * publishes and keeps the last `appServer.keepPerNode` notifications per node for HTTP
 * inspection, Server-Sent Events and webhooks (wired in src/appserver/index.ts).
 *
 * Who may publish to a node (node names come from clients, so one user could pick another's):
 * - a node claimed by an account of this server (its `<enable/>` on this server named this app
 *   server, or a registration of it published here) takes notifications from this server's own
 *   push dispatcher for that account only (`publishLocal`); iq publishes to it are `forbidden`,
 *   and another account's `<enable/>` with it is refused with `conflict`;
 * - any other node is open to iq publishes, as another server publishes for its own users: the
 *   node's first publish sets its secret (from its publish-options) and later ones must match.
 * A claim takes over an unclaimed node, dropping what others published to it.
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
  private readonly accountJson = new JsonMemo();
  private readonly roomJson = new JsonMemo();
  /** Item ids: unique across restarts without a random draw per publish. */
  private readonly idPrefix = `${randomBytes(6).toString('base64url')}-`;

  constructor(
    private readonly ctx: ServerContext,
    readonly domain: string,
  ) {
    this.store = new AppServerNodeStore(ctx.store);
    ctx.router.register(domain, (stanza) => this.handle(stanza).catch((err: unknown) => ctx.log.error({ err }, 'push app server failure')));
  }

  async load(): Promise<void> {
    for (const [node, rec] of await this.store.all()) this.nodes.set(node, this.nodeState(node, rec));
  }

  private nodeState(node: string, stored: AppServerNodeRecord): NodeState {
    return { node, stored, secretHash: undefined, creating: null, records: [], jsonHead: `{"node":${JSON.stringify(node)}` };
  }

  /** Called for every accepted notification; returns what unsubscribes. */
  onNotification(listener: NotificationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The notifications kept for a node (or for every node), oldest first. */
  notifications(node?: string): PushNotificationRecord[] {
    if (node !== undefined) return this.nodes.get(node)?.records.slice() ?? [];
    const all: PushNotificationRecord[] = [];
    for (const k of this.nodes.values()) all.push(...k.records);
    return all.sort((a, b) => a.id - b.id);
  }

  /** Forgets the kept notifications of a node (or of every node); ids go on increasing. Returns how many. */
  clear(node?: string): number {
    let n = 0;
    for (const state of node === undefined ? this.nodes.values() : [this.nodes.get(node)]) {
      if (!state) continue;
      n += state.records.length;
      state.records = [];
    }
    return n;
  }

  /**
   * A notification from this server's own push dispatcher: what an iq publish would carry,
   * without the iq (see `LocalAppServer`), for `owner` and about `room` (or null). Null means
   * accepted; else the error the publish would have been answered with.
   */
  publishLocal(owner: string, from: string, node: string, count: number, sender: string | null, body: string | null, room: string | null): StanzaError | null | Promise<StanzaError | null> {
    if (from !== this.lastFrom) {
      this.lastFrom = from;
      this.lastFromNorm = parseJid(from)?.full ?? from;
    }
    try {
      return this.settled(this.accept(node, this.lastFromNorm, { owner, room }, count, sender, body));
    } catch (err) {
      return this.failure(err);
    }
  }

  claim(node: string, owner: string): StanzaError | null | Promise<StanzaError | null> {
    const state = this.claimed(node, owner);
    if (!state) return this.refuse('conflict', 'this push node belongs to another account: choose another node name');
    return state.creating ? this.settled(state.creating) : null;
  }

  /** An outcome as the dispatcher and the enable path want it: null once accepted, else the error. */
  private settled(outcome: unknown): StanzaError | null | Promise<StanzaError | null> {
    if (!(outcome instanceof Promise)) return null;
    return outcome.then(
      () => null,
      (err: unknown) => this.failure(err),
    );
  }

  /**
   * The node's state once it is `owner`'s: claimed now if it was unclaimed (stored in the
   * background, see `creating`), or null when another account has it.
   */
  private claimed(node: string, owner: string): NodeState | null {
    const state = this.nodes.get(node);
    if (state?.stored.owner === owner) return state;
    if (state?.stored.owner) return null;
    const next = this.nodeState(node, { secretHash: null, created: state?.stored.created ?? Date.now(), owner });
    this.nodes.set(node, next);
    const done = this.store.save(node, next.stored);
    next.creating = done;
    done.then(
      () => {
        if (next.creating === done) next.creating = null;
      },
      () => {
        // Not stored: the claim did not happen.
        if (this.nodes.get(node) !== next) return;
        if (state) this.nodes.set(node, state);
        else this.nodes.delete(node);
      },
    );
    return next;
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
      { secret: secret ?? null },
      Number.isFinite(count) ? count : 0,
      summary.get('last-message-sender')?.[0] ?? null,
      summary.get('last-message-body')?.[0] ?? null,
    );
    return xml('pubsub', { xmlns: NS.PUBSUB }, xml('publish', { node }, xml('item', { id: `${this.idPrefix}${seq.toString(36)}` })));
  }

  /**
   * Checks that `by` may publish to the node (see the class comment) and keeps the notification;
   * resolves to its sequence number, at once unless the node (or its claim) is new: it is stored first.
   */
  private accept(node: string, from: string, by: Publisher, count: number, sender: string | null, body: string | null): number | Promise<number> {
    if ('owner' in by) {
      // A registration of that account exists, so it enabled this node here (perhaps before nodes had owners).
      const owned = this.claimed(node, by.owner);
      if (!owned) throw this.refuse('forbidden', 'this push node belongs to another account');
      const keep = () => this.keep(owned, from, count, sender, body, by.owner, by.room);
      return owned.creating ? owned.creating.then(keep) : keep();
    }
    const secret = by.secret;
    const state = this.nodes.get(node);
    if (state?.stored.owner) throw this.refuse('forbidden', 'this push node belongs to an account of this server: only its push service publishes to it');
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

  private keep(state: NodeState, from: string, count: number, sender: string | null, body: string | null, account: string | null = null, room: string | null = null): number {
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
      id: ++this.seq,
      account,
      room,
    };
    const seq = record.id;
    state.records.push(record);
    const max = Math.max(1, this.ctx.config.appServer.keepPerNode);
    while (state.records.length > max) state.records.shift();
    this.stats.received++;
    if (this.listeners.size === 0) return seq;
    // JSON.stringify(record), piece by piece: the node's and the message's parts are made once.
    const json =
      typeof from === 'string'
        ? `${state.jsonHead},"time":"${record.time}","from":${this.fromJson.of(from)},"message-count":${JSON.stringify(count)},"last-message-sender":${this.senderJson.of(sender)},"last-message-body":${this.bodyJson.of(body)},"id":${seq},"account":${this.accountJson.of(account)},"room":${this.roomJson.of(room)}}`
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

  private refuse(condition: 'bad-request' | 'not-authorized' | 'forbidden' | 'conflict', text: string, pubsubCondition?: string): StanzaError {
    this.stats.refused++;
    return new StanzaError(condition, text, undefined, pubsubCondition ? xml(pubsubCondition, { xmlns: PUBSUB_ERRORS }) : undefined);
  }
}
