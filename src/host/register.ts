import type { ServerContext } from '../core/context.ts';
import { bareOf, localpart, type Jid } from '../core/jid.ts';
import type { StoredCredentials } from '../stream/sasl/credentials.ts';
import { credentialsFor } from '../admin/accounts.ts';
import { asStanzaError } from '../admin/errors.ts';
import type { SessionLifecycle } from '../stream/lifecycle.ts';
import { xml, type Element } from '../xml/element.ts';
import { errorReply, StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { Host } from './host.ts';
import { deleteAccount } from '../store/account-data.ts';
import type { IqTarget } from './iq-handlers.ts';
import { creationLimit } from '../core/address-limit.ts';
import type { Connection } from '../transport/connection.ts';

/** Prepares a requested username as SASL and routing will (a JID localpart), or explains why it cannot be one. */
function username(raw: string): string {
  const u = localpart(raw);
  if (u === undefined) throw new StanzaError('not-acceptable', 'the username contains characters a JID localpart cannot have');
  return u;
}

/** The admin commands' password check (empty, SASLprep), answered as a stanza error. */
const credentialsOf = (password: string): Promise<StoredCredentials> => asStanzaError(() => credentialsFor(password));

/**
 * XEP-0077: account creation before authentication (when enabled), and for a logged-in user
 * the password change and account removal.
 */
export function installRegistration(ctx: ServerContext, host: Host, lifecycle: SessionLifecycle): void {
  const form = () =>
    xml('query', { xmlns: NS.REGISTER }, xml('instructions', {}, 'Choose a username and password to register with this server.'), xml('username'), xml('password'));

  const perAddress = creationLimit(ctx.config, () => ctx.config.registration.perAddressPerMinute);

  host.preAuthRegister = async (iq: Element, conn: Connection) => {
    const query = iq.getChild('query', NS.REGISTER)!;
    const reply = (payload?: Element) => xml('iq', { type: 'result', id: iq.attrs.id }, ...(payload ? [payload] : []));
    try {
      if (iq.attrs.type === 'get') return reply(form());
      if (iq.attrs.type !== 'set') throw new StanzaError('bad-request');
      if (query.getChild('remove')) throw new StanzaError('not-authorized', 'log in to remove an account');
      const rawUser = query.getChildText('username');
      const password = query.getChildText('password');
      if (!rawUser || password === null) throw new StanzaError('not-acceptable', 'username and password are required');
      const name = username(rawUser);
      // Taken before any await, so parallel requests cannot all pass; only a created account
      // keeps its slot. XEP-0077 3.1.1 names not-acceptable for registering too often; the
      // type is wait, as a later attempt can succeed.
      const slot = perAddress.reserve(conn.remoteAddress);
      if (!slot) throw new StanzaError('not-acceptable', 'too many accounts registered from your address; try again in a minute', 'wait');
      try {
        // XEP-0077 3.1: a taken name, or one another registration is creating right now, is a conflict.
        const created = await ctx.accounts.create(name, async () => ({ credentials: await credentialsOf(password), created: Date.now() }));
        if (!created) throw new StanzaError('conflict', 'that username is taken');
      } catch (err) {
        slot();
        throw err;
      }
      ctx.log.info({ username: name, address: conn.remoteAddress }, `account ${name}@${ctx.config.domain} registered in-band from ${conn.remoteAddress}`);
      return reply();
    } catch (err) {
      if (err instanceof StanzaError) return errorReply(iq, err);
      throw err;
    }
  };

  // The account's own registration: addressed to its bare JID (or no one), or to the server as in
  // XEP-0077's examples (then it is about the sender's account).
  const accountOf = (target: IqTarget, from: Jid, to: Jid): Jid => {
    if (target === 'account') {
      if (from.bare !== to.bare) throw new StanzaError('forbidden');
      return to;
    }
    if (!from.local || from.domain !== ctx.config.domain) throw new StanzaError('not-allowed', 'only local accounts are registered here');
    return bareOf(from);
  };
  const changeOrRemove = async (payload: Element, to: Jid): Promise<undefined> => {
    const account = await ctx.accounts.get(to.local);
    if (!account) throw new StanzaError('item-not-found');
    if (payload.getChild('remove')) {
      await deleteAccount(ctx.store, to.local, to.bare);
      ctx.hooks.emit('account:deleted', { user: to });
      // The reply goes out before the sessions close: the removal is acknowledged.
      setImmediate(() => {
        for (const s of ctx.sessions.of(to.bare)) lifecycle.end(s, 'not-authorized', 'account removed');
      });
      return undefined;
    }
    const given = payload.getChildText('username');
    const password = payload.getChildText('password');
    if (given !== null && localpart(given) !== to.local) throw new StanzaError('bad-request', 'the username cannot change');
    if (password === null) throw new StanzaError('bad-request', 'a new password is required');
    await ctx.accounts.put({ ...account, credentials: await credentialsOf(password) });
    return undefined;
  };
  for (const target of ['account', 'server'] as const) {
    host.iq.on(target, 'get', 'query', NS.REGISTER, ({ from, to }) => {
      const account = accountOf(target, from, to);
      return xml('query', { xmlns: NS.REGISTER }, xml('registered'), xml('username', {}, account.local), xml('password'));
    });
    host.iq.on(target, 'set', 'query', NS.REGISTER, ({ payload, from, to }) => changeOrRemove(payload, accountOf(target, from, to)));
  }

  host.disco.addFeature('server', NS.REGISTER);
}
