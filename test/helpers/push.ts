import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { sleep, type TestClient, type TestServer } from './server.ts';
import { configure, join, statusCodes } from './muc.ts';
import { DATA, field } from './stanza.ts';
import type { PushNotificationRecord } from '../../src/appserver/app-server.ts';

export const PUSH = 'urn:xmpp:push:0';
export const PUBSUB = 'http://jabber.org/protocol/pubsub';
export const REFERENCE = 'urn:xmpp:reference:0';
export const PUBLISH_OPTIONS = 'http://jabber.org/protocol/pubsub#publish-options';

/** <enable/> (to the MUC domain, a room, or with no `to` the account), with a secret form when given. */
export function enableIq(to: string | undefined, jid: string | undefined, node: string | undefined, secret?: string): Element {
  const attrs: Record<string, string> = { xmlns: PUSH };
  if (jid !== undefined) attrs.jid = jid;
  if (node !== undefined) attrs.node = node;
  const enable = xml('enable', attrs);
  if (secret !== undefined) enable.append(xml('x', { xmlns: DATA, type: 'submit' }, field('FORM_TYPE', PUBLISH_OPTIONS), field('secret', secret)));
  return xml('iq', { type: 'set', ...(to ? { to } : {}) }, enable);
}

/** An iq publish to the built-in app server, as another server would send it for its user. */
export function publishIq(node: string | undefined, opts: { secret?: string; count?: number; body?: string; notification?: boolean } = {}) {
  const summary = xml('x', { xmlns: DATA, type: 'submit' }, field('FORM_TYPE', 'urn:xmpp:push:summary'), field('message-count', String(opts.count ?? 1)));
  if (opts.body) summary.append(field('last-message-body', opts.body));
  const item = xml('item', {}, ...(opts.notification === false ? [] : [xml('notification', { xmlns: PUSH }, summary)]));
  const pubsub = xml('pubsub', { xmlns: PUBSUB }, xml('publish', node ? { node } : {}, item));
  if (opts.secret !== undefined) {
    pubsub.append(xml('publish-options', {}, xml('x', { xmlns: DATA, type: 'submit' }, field('FORM_TYPE', PUBLISH_OPTIONS), field('secret', opts.secret))));
  }
  return xml('iq', { type: 'set', to: 'push.localhost' }, pubsub);
}

export function disableIq(to: string | undefined, jid: string | undefined, node?: string): Element {
  const attrs: Record<string, string> = { xmlns: PUSH };
  if (jid !== undefined) attrs.jid = jid;
  if (node !== undefined) attrs.node = node;
  return xml('iq', { type: 'set', ...(to ? { to } : {}) }, xml('disable', attrs));
}

/** Creates (or joins) a persistent room, unlocked, with extra muc#roomconfig fields. */
export async function createRoom(c: TestClient, roomNick: string, fields: Record<string, string> = {}): Promise<void> {
  const self = await join(c, roomNick);
  if (!statusCodes(self).includes(201)) return;
  await configure(c, roomNick.split('/')[0]!, { 'muc#roomconfig_persistentroom': '1', ...fields });
}

export function mentionRef(uri: string, begin?: number, end?: number): Element {
  return xml('reference', { xmlns: REFERENCE, type: 'mention', uri, ...(begin !== undefined ? { begin: String(begin), end: String(end) } : {}) });
}

/** The summary form of a notification iq, as a plain object. */
export function summaryOf(iq: Element): { node: string; count: number; sender?: string; body?: string; secret?: string } {
  const pubsub = iq.getChild('pubsub', PUBSUB)!;
  const publish = pubsub.getChild('publish')!;
  const form = publish.getChild('item')!.getChild('notification', PUSH)!.getChild('x', DATA)!;
  const values = new Map<string, string>();
  for (const f of form.getChildren('field')) values.set(f.attrs.var as string, f.getChildText('value') ?? '');
  const options = new Map<string, string>();
  for (const f of pubsub.getChild('publish-options')?.getChild('x', DATA)?.getChildren('field') ?? []) options.set(f.attrs.var as string, f.getChildText('value') ?? '');
  return {
    node: publish.attrs.node as string,
    count: Number(values.get('message-count')),
    sender: values.get('last-message-sender'),
    body: values.get('last-message-body'),
    secret: options.get('secret'),
  };
}

export type AppMode = { kind: 'result' } | { kind: 'error'; type: string; condition: string } | { kind: 'silent' };

/**
 * A logged-in client acting as an XEP-0357 app server by its full JID: records each
 * notification iq and answers as `mode` says.
 */
export function actAsAppServer(c: TestClient): { notifications: Element[]; mode: AppMode; next(timeoutMs?: number): Promise<Element> } {
  const state = {
    notifications: [] as Element[],
    mode: { kind: 'result' } as AppMode,
    waiters: [] as ((el: Element) => void)[],
    next(timeoutMs = 5000): Promise<Element> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timed out waiting for a push notification')), timeoutMs);
        state.waiters.push((el) => (clearTimeout(timer), resolve(el)));
      });
    },
  };
  c.xmpp.iqCallee.set(PUBSUB, 'pubsub', (ctx: unknown) => {
    const stanza = (ctx as { stanza: Element }).stanza;
    state.notifications.push(stanza);
    state.waiters.shift()?.(stanza);
    const mode = state.mode;
    if (mode.kind === 'silent') return new Promise(() => {});
    if (mode.kind === 'error') return xml('error', { type: mode.type }, xml(mode.condition, { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }));
    return true;
  });
  return state;
}

/** The JSON shape of GET /push/notifications entries (the field names). */
export type HttpNotification = PushNotificationRecord;

export async function httpNotifications(t: TestServer, node: string): Promise<HttpNotification[]> {
  const res = await fetch(`http://127.0.0.1:${t.server.ports.http}/push/notifications?node=${encodeURIComponent(node)}`);
  return (await res.json()) as HttpNotification[];
}

/** Polls the built-in app server until the node has at least `n` notifications. */
export async function waitHttpNotifications(t: TestServer, node: string, n: number, timeoutMs = 5000): Promise<HttpNotification[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const list = await httpNotifications(t, node);
    if (list.length >= n) return list;
    if (Date.now() > end) throw new Error(`expected ${n} notifications for ${node}, got ${list.length}`);
    await sleep(25);
  }
}

/** One Server-Sent Event: its `id:` (null when none) and its `data:` parsed as JSON. */
export interface SseEvent {
  id: string | null;
  data: HttpNotification;
}

/** Opens `/push/events` and reads its events as they come; `close()` ends the request. */
export async function openEvents(t: TestServer, query = '', headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const res = await fetch(`http://127.0.0.1:${t.server.ports.http}/push/events${query}`, { headers, signal: abort.signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let text = '';
  return {
    res,
    events,
    /** Resolves once `n` events in all have arrived (rejects after `timeoutMs`). */
    async until(n: number, timeoutMs = 5000): Promise<SseEvent[]> {
      const timer = setTimeout(() => abort.abort(), timeoutMs);
      try {
        while (events.length < n) {
          const { value, done } = await reader.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
          let cut: number;
          while ((cut = text.indexOf('\n\n')) !== -1) {
            const lines = text.slice(0, cut).split('\n');
            text = text.slice(cut + 2);
            const data = lines.find((l) => l.startsWith('data: '));
            const id = lines.find((l) => l.startsWith('id: '));
            if (data) events.push({ id: id ? id.slice(4) : null, data: JSON.parse(data.slice(6)) as HttpNotification });
          }
        }
      } catch (err) {
        if (!abort.signal.aborted) throw err;
      } finally {
        clearTimeout(timer);
      }
      if (events.length < n) throw new Error(`expected ${n} events, got ${events.length}`);
      return events;
    },
    close: () => abort.abort(),
  };
}
