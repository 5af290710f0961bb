import { KeyedQueue } from '../core/keyed-queue.ts';
import { storedStanzaLimits } from './stored-limits.ts';
import type { ServerContext } from '../core/context.ts';
import { bareOf, type Jid } from '../core/jid.ts';
import type { Session } from '../stream/session.ts';
import { OfflineStore } from '../store/offline.ts';
import { Element, xml } from '../xml/element.ts';
import { parseFrame } from '../xml/frame-parser.ts';
import { NS } from '../xml/ns.ts';
import type { Host } from './host.ts';

/** Messages kept per account; past this the sender gets resource-constraint (as ejabberd does). */
export const MAX_OFFLINE_PER_USER = 1000;

/**
 * XEP-0160 offline storage: chat and normal messages with a body (or a <store/> hint) for an
 * account with no available resource are kept with an XEP-0203 delay stamp, and handed to the
 * first session that becomes available with a non-negative priority.
 */
export function installOffline(ctx: ServerContext, host: Host): () => Promise<void> {
  const store = new OfflineStore(ctx.store);
  ctx.hooks.on('account:deleted', ({ user }) => store.forget(user.local));
  // Storing and delivering for one account run one at a time, in arrival order: a message
  // stored while a login is collecting the stored ones is neither lost nor sent twice.
  const queue = new KeyedQueue();
  const enqueue = (user: string, fn: () => Promise<void>) => {
    queue.run(user, fn).catch((err) => ctx.log.error({ err, user }, 'offline storage task failed'));
  };

  const storable = (stanza: Element): boolean => {
    const type = (stanza.attrs.type as string | undefined) ?? 'normal';
    if (type !== 'chat' && type !== 'normal') return false;
    if (stanza.getChild('no-store', NS.HINTS)) return false;
    return stanza.getChild('body') !== undefined || stanza.getChild('store', NS.HINTS) !== undefined;
  };

  const keep = async (to: Jid, stanza: Element): Promise<void> => {
    if (!(await ctx.accounts.exists(to.local))) return ctx.router.bounce(stanza, 'service-unavailable');
    // A resource became available while this waited: it takes the message now.
    const live = host.messages.bareTargets(to.bare);
    if (live.length > 0) return host.messages.sendToResources(live, stanza);
    // Chat states and other body-less traffic for an existing account are dropped quietly (RFC 6121 8.5.2.2.1).
    if (!storable(stanza)) return;
    if ((await store.count(to.local)) >= MAX_OFFLINE_PER_USER) {
      return ctx.router.bounce(stanza, 'resource-constraint', 'the recipient has too many messages waiting');
    }
    const copy = new Element('message', { ...stanza.attrs });
    copy.children = [...stanza.children];
    // A message coming back from a session that never acknowledged it keeps its first stamp.
    const stamped = stanza.getChildren('delay', NS.DELAY).some((d) => d.attrs.from === ctx.config.domain);
    if (!stamped) copy.children.push(xml('delay', { xmlns: NS.DELAY, from: ctx.config.domain, stamp: new Date().toISOString() }));
    try {
      await store.push(to.local, copy.toString());
    } catch (err) {
      ctx.log.error({ err, user: to.local }, 'cannot store an offline message');
      return ctx.router.bounce(stanza, 'internal-server-error');
    }
    ctx.hooks.emit('account:offline-message', { user: bareOf(to), stanza: copy });
  };

  const flush = async (session: Session): Promise<void> => {
    const user = session.jid.local;
    const sent: string[] = [];
    for (const { key, message } of await store.list(user)) {
      let el: Element;
      try {
        el = parseFrame(message.stanza, storedStanzaLimits(ctx.config));
      } catch (err) {
        ctx.log.warn({ err, user }, 'dropping an unreadable offline message');
        sent.push(key);
        continue;
      }
      // A session that closed meanwhile keeps the rest for the next login.
      if (!session.send(el)) break;
      sent.push(key);
    }
    await store.remove(user, sent);
  };

  // The router's delivery decides when an account cannot take a message now. Whether the account
  // exists is only known asynchronously, so this claims every message and bounces unknown
  // accounts itself with the same service-unavailable the router would send.
  host.messages.offline = (to, stanza) => {
    enqueue(to.local, () => keep(to, stanza));
    return true;
  };
  // Emitted by presence after the initial broadcast, so contacts see us before the backlog arrives.
  ctx.hooks.on('session:available', ({ session }) => {
    if (session.priority >= 0) enqueue(session.jid.local, () => flush(session));
  });

  return async () => {
    await queue.drain();
  };
}
