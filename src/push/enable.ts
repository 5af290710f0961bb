import type { ServerContext } from '../core/context.ts';
import { parseJid, type Jid } from '../core/jid.ts';
import type { Host } from '../host/host.ts';
import type { MucService } from '../muc/service.ts';
import type { PushScope } from '../store/push.ts';
import type { Element } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { LocalAppServer } from './dispatcher.ts';
import type { Registrations } from './registrations.ts';

/** The app server JID of an <enable/> or <disable/>: required, and a valid JID. */
function appServerJid(payload: Element): string {
  const raw = payload.attrs.jid as string | undefined;
  if (!raw) throw new StanzaError('bad-request', `missing jid: <${payload.name}/> needs the app server's JID`);
  const jid = parseJid(raw);
  if (!jid) throw new StanzaError('jid-malformed', 'the app server JID is not a valid JID');
  return jid.full;
}

/** The publish-options data form inside <enable/>, if any. */
function publishOptions(payload: Element): Element | null {
  for (const c of payload.children) {
    if (typeof c !== 'string' && c.name === 'x' && c.getNS() === NS.DATA) return c;
  }
  return null;
}

/**
 * XEP-0357 sections 5 and 7: <enable/> and <disable/>, sent by a user to the MUC service (all its
 * rooms: what Converse sends), to one room (that room only), or to their own account (1:1 pushes).
 * Registrations belong to the user's bare JID. A node on this server's own app server becomes
 * the enabling account's (see `LocalAppServer.claim`): nobody else can publish to it then.
 */
export function installEnable(ctx: ServerContext, host: Host, muc: MucService | null, registrations: Registrations, local: LocalAppServer | null): void {
  const enable = async (user: Jid, scope: PushScope, payload: Element): Promise<void> => {
    const jid = appServerJid(payload);
    const node = payload.attrs.node as string | undefined;
    if (!node) throw new StanzaError('bad-request', 'missing node: <enable/> needs the node the app server provisioned');
    if (local && jid === local.domain) {
      const refused = await local.claim(node, user.bare);
      if (refused) throw refused;
    }
    const domain = parseJid(jid)!.domain;
    if (!ctx.router.canReach(domain)) {
      // Kept (a federating version may reach it), but every push will fail until then: say so now.
      ctx.log.warn({ user: user.bare, scope, appServer: jid }, `push app server ${jid} is on ${domain}, which this server cannot reach (no federation): its pushes will fail and the registration will be removed after ${ctx.config.push.maxErrors} errors`);
    }
    const { dropped } = await registrations.enable({ user: user.bare, scope, jid, node, form: publishOptions(payload) });
    ctx.log.debug({ user: user.bare, scope, appServer: jid, node, dropped: dropped.length }, 'push enabled');
  };
  const disable = async (user: Jid, scope: PushScope, payload: Element): Promise<void> => {
    const jid = appServerJid(payload);
    const node = (payload.attrs.node as string | undefined) || undefined;
    const n = await registrations.disable(user.bare, scope, jid, node);
    ctx.log.debug({ user: user.bare, scope, appServer: jid, node, removed: n }, 'push disabled');
  };

  // The account: no 'to' (or the user's own bare JID). Nobody enables push for someone else.
  const own = (from: Jid, to: Jid) => {
    if (from.bare !== to.bare) throw new StanzaError('forbidden', 'push can only be enabled for your own account');
  };
  host.iq.on('account', 'set', 'enable', NS.PUSH, ({ payload, from, to }) => (own(from, to), enable(from, 'account', payload)));
  host.iq.on('account', 'set', 'disable', NS.PUSH, ({ payload, from, to }) => (own(from, to), disable(from, 'account', payload)));
  host.disco.addFeature('account', NS.PUSH);

  if (!muc) return;
  const service: PushScope = `muc:${muc.domain}`;
  muc.serviceIq.on('set', 'enable', NS.PUSH, ({ payload, from }) => enable(from, service, payload));
  muc.serviceIq.on('set', 'disable', NS.PUSH, ({ payload, from }) => disable(from, service, payload));
  muc.serviceFeatures.add(NS.PUSH);
  muc.roomIq.on('set', 'enable', NS.PUSH, ({ room, payload, from }) => {
    if (room.affiliation(from.bare) === 'outcast') throw new StanzaError('forbidden', 'you are banned from this room');
    return enable(from, `room:${room.jid.bare}`, payload);
  });
  muc.roomIq.on('set', 'disable', NS.PUSH, ({ room, payload, from }) => disable(from, `room:${room.jid.bare}`, payload));
  muc.roomFeatures.push(() => [NS.PUSH]);
}
