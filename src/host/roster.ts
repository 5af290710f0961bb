import { randomUUID } from 'node:crypto';
import { KeyedQueue } from '../core/keyed-queue.ts';
import type { ServerContext } from '../core/context.ts';
import { parseJid } from '../core/jid.ts';
import { RosterStore, type RosterChange, type RosterData, type RosterItem } from '../store/rosters.ts';
import { Element, xml } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { Host } from './host.ts';

/** Limits on what a client may put in a roster (RFC 6121 2.3.3 leaves them to the server). */
const MAX_ITEMS = 1000;
const MAX_NAME = 1023;
const MAX_GROUP = 1023;
const MAX_GROUPS = 100;

export const hasFrom = (item: RosterItem | undefined): boolean => item?.subscription === 'from' || item?.subscription === 'both';
export const hasTo = (item: RosterItem | undefined): boolean => item?.subscription === 'to' || item?.subscription === 'both';

/**
 * Accounts' rosters: a per-account task queue so reads and read-modify-writes of one roster
 * never interleave (a subscription handshake touches two rosters, each in its own queue, so
 * nothing waits on two locks), and a cache of the rosters of accounts with a session, because
 * every presence broadcast reads the roster.
 */
export class Rosters {
  private readonly store: RosterStore;
  private readonly cache = new Map<string, RosterData>();
  private readonly queue = new KeyedQueue();

  constructor(private readonly ctx: ServerContext) {
    this.store = new RosterStore(ctx.store);
  }

  private bare(user: string): string {
    return `${user}@${this.ctx.config.domain}`;
  }

  /** Runs `fn` after every earlier task of this account; a failure goes to the caller only. */
  run<T>(user: string, fn: () => T | Promise<T>): Promise<T> {
    return this.queue.run(user, fn);
  }

  /** `run` for work nobody awaits: a failure is logged. */
  spawn(user: string, fn: () => unknown): void {
    this.run(user, fn).catch((err) => this.ctx.log.error({ err, user }, 'roster task failed'));
  }

  /** True while tasks of this account are queued: later work for it must queue too to keep order. */
  busy(user: string): boolean {
    return this.queue.busy(user);
  }

  /** Resolves once every queued task has run (shutdown waits for this before closing storage). */
  idle(): Promise<void> {
    return this.queue.drain();
  }

  /** The account's roster; call from inside `run`. Cached only while the account has sessions. */
  async data(user: string): Promise<RosterData> {
    const cached = this.cache.get(user);
    if (cached) return cached;
    const data = await this.store.load(user);
    if (this.ctx.sessions.of(this.bare(user)).length > 0) this.cache.set(user, data);
    return data;
  }

  /** Persists a change, then applies it to `data` (the cached copy when there is one). */
  async change(user: string, data: RosterData, change: RosterChange): Promise<void> {
    await this.store.apply(user, change);
    for (const item of change.put ?? []) data.items.set(item.jid, item);
    for (const jid of change.del ?? []) data.items.delete(jid);
    for (const [jid, stanza] of change.pendingPut ?? []) data.pending.set(jid, stanza);
    for (const jid of change.pendingDel ?? []) data.pending.delete(jid);
  }

  /** Drops the cached roster once the account's last session is gone. */
  evictIfOffline(user: string): void {
    if (this.ctx.sessions.of(this.bare(user)).length === 0) this.cache.delete(user);
  }

  /** RFC 6121 2.1.6: the changed item goes to every resource that requested the roster. */
  push(user: string, item: RosterItem | { jid: string; removed: true }): void {
    const bare = this.bare(user);
    const query = xml('query', { xmlns: NS.ROSTER }, 'removed' in item ? xml('item', { jid: item.jid, subscription: 'remove' }) : itemElement(item));
    const id = `push-${randomUUID()}`;
    for (const s of this.ctx.sessions.of(bare)) {
      if (!s.rosterRequested) continue;
      s.send(xml('iq', { type: 'set', id, from: bare, to: s.jid.full }, query));
    }
  }
}

export function itemElement(item: RosterItem): Element {
  const el = xml('item', { jid: item.jid, subscription: item.subscription });
  if (item.name !== undefined) el.attrs.name = item.name;
  if (item.ask) el.attrs.ask = 'subscribe';
  for (const g of item.groups) el.c('group').t(g);
  return el;
}

/** Reads and validates the single item of a roster set (RFC 6121 2.3.3). */
function parseSetItem(query: Element, ownBare: string): { jid: string; remove: boolean; name?: string; groups: string[] } {
  const children = query.children.filter((c): c is Element => typeof c !== 'string');
  if (children.length !== 1 || children[0]!.name !== 'item') throw new StanzaError('bad-request', 'a roster set carries exactly one item');
  const item = children[0]!;
  const raw = item.attrs.jid as string | undefined;
  if (!raw) throw new StanzaError('bad-request', 'the item has no jid');
  const jid = parseJid(raw);
  if (!jid) throw new StanzaError('jid-malformed');
  if (jid.resource) throw new StanzaError('bad-request', 'roster items are bare JIDs');
  if (jid.bare === ownBare) throw new StanzaError('not-allowed', 'you cannot add yourself to your roster');
  // Any subscription value other than "remove" is ignored, and so is 'ask' (RFC 6121 2.1.2.5, 2.1.2.2).
  const remove = item.attrs.subscription === 'remove';
  const rawName = item.attrs.name as string | undefined;
  if (rawName !== undefined && rawName.length > MAX_NAME) throw new StanzaError('not-acceptable', `the name is longer than ${MAX_NAME} characters`);
  const groups: string[] = [];
  for (const g of item.getChildren('group')) {
    const text = g.text();
    if (text.length === 0) throw new StanzaError('not-acceptable', 'a group name cannot be empty');
    if (text.length > MAX_GROUP) throw new StanzaError('not-acceptable', `a group name is longer than ${MAX_GROUP} characters`);
    if (groups.includes(text)) throw new StanzaError('bad-request', 'duplicate group');
    groups.push(text);
  }
  if (groups.length > MAX_GROUPS) throw new StanzaError('not-acceptable', `an item is in more than ${MAX_GROUPS} groups`);
  return { jid: jid.bare, remove, name: rawName === '' ? undefined : rawName, groups };
}

/** jabber:iq:roster get and set for the account itself (RFC 6121 section 2). */
export function installRoster(ctx: ServerContext, host: Host): Rosters {
  const rosters = new Rosters(ctx);

  host.iq.on('account', 'get', 'query', NS.ROSTER, async ({ from, to, session }) => {
    if (from.bare !== to.bare) throw new StanzaError('forbidden', 'only the account itself may read its roster');
    // A get addressed to the own bare JID arrives through the router without the session.
    const requester = session ?? ctx.sessions.get(from.full);
    if (requester) requester.rosterRequested = true;
    const data = await rosters.run(to.local, () => rosters.data(to.local));
    const query = xml('query', { xmlns: NS.ROSTER });
    for (const item of data.items.values()) query.cnode(itemElement(item));
    return query;
  });

  host.iq.on('account', 'set', 'query', NS.ROSTER, async ({ payload, from, to }) => {
    if (from.bare !== to.bare) throw new StanzaError('forbidden', 'only the account itself may change its roster');
    const req = parseSetItem(payload, to.bare);
    const user = to.local;
    await rosters.run(user, async () => {
      const data = await rosters.data(user);
      const existing = data.items.get(req.jid);
      if (req.remove) {
        const pendingIn = data.pending.has(req.jid);
        if (!existing && !pendingIn) throw new StanzaError('item-not-found');
        await rosters.change(user, data, { del: existing ? [req.jid] : [], pendingDel: pendingIn ? [req.jid] : [] });
        if (existing) rosters.push(user, { jid: req.jid, removed: true });
        cancelSubscriptions(ctx, to.bare, req.jid, existing, pendingIn);
        return;
      }
      if (!existing && data.items.size >= MAX_ITEMS) throw new StanzaError('resource-constraint', `a roster holds at most ${MAX_ITEMS} items`);
      // Subscription state is the server's: a roster set only names and groups the contact.
      const item: RosterItem = { jid: req.jid, subscription: existing?.subscription ?? 'none', groups: req.groups };
      if (req.name !== undefined) item.name = req.name;
      if (existing?.ask) item.ask = true;
      await rosters.change(user, data, { put: [item] });
      rosters.push(user, item);
    });
    return undefined;
  });

  // After the presence feature's own session:closed work (priority 0), which reads the roster.
  ctx.hooks.on(
    'session:closed',
    ({ session }) => {
      rosters.spawn(session.jid.local, () => rosters.evictIfOffline(session.jid.local));
    },
    -10,
  );
  return rosters;
}

/**
 * RFC 6121 2.5.2: removing a contact ends both directions of the subscription. The contact is
 * told in the order of the RFC's example (unsubscribe for ours, then unsubscribed for theirs or
 * their pending request); if they could see our presence, the cancellation is followed by
 * unavailable from each of our available resources, as 3.2.2 orders it.
 */
function cancelSubscriptions(ctx: ServerContext, userBare: string, contact: string, item: RosterItem | undefined, pendingIn: boolean): void {
  if (hasTo(item) || item?.ask) ctx.router.route(xml('presence', { type: 'unsubscribe', from: userBare, to: contact }));
  if (hasFrom(item) || pendingIn) ctx.router.route(xml('presence', { type: 'unsubscribed', from: userBare, to: contact }));
  if (!hasFrom(item)) return;
  for (const s of ctx.sessions.of(userBare)) {
    if (s.available) ctx.router.route(xml('presence', { type: 'unavailable', from: s.jid.full, to: contact }));
  }
}
