import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import type { TestClient } from './server.ts';

/** Stanza helpers for the @xmpp/client test clients: data forms, errors, raw IQs, disco. */

export const DATA = 'jabber:x:data';
export const DISCO_INFO = 'http://jabber.org/protocol/disco#info';
export const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
export const SID = 'urn:xmpp:sid:0';

/** A data form field with its values. */
export function field(name: string, ...values: string[]): Element {
  return xml('field', { var: name }, ...values.map((v) => xml('value', {}, v)));
}

/** The type and defined condition of a stanza's <error/> (the <text/> is not a condition). */
export function errorOf(el: Element): { type?: string; condition?: string } {
  const err = el.getChild('error');
  const cond = err?.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === STANZAS && c.name !== 'text');
  return { type: err?.attrs.type as string | undefined, condition: cond?.name };
}

export function errorCondition(el: Element): string | undefined {
  return errorOf(el).condition;
}

/** The condition a request was rejected with; fails the test when it succeeded. */
export async function condition(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { condition: string }).condition;
  }
  assert.fail('expected an error');
}

let seq = 0;
/** Sends an IQ and resolves with the reply, result or error (`c.iq` rejects on an error). */
export async function rawIq(c: TestClient, iq: Element): Promise<Element> {
  const id = `raw${++seq}`;
  iq.attrs.id = id;
  const reply = c.next((el) => el.is('iq') && el.attrs.id === id && (el.attrs.type === 'result' || el.attrs.type === 'error'));
  await c.send(iq);
  return reply;
}

/** Sends a message that must fail; resolves with the error. */
export async function messageError(c: TestClient, msg: Element): Promise<{ type?: string; condition?: string }> {
  const id = `e${Math.random().toString(36).slice(2)}`;
  msg.attrs.id = id;
  const p = c.next((el) => el.is('message') && el.attrs.type === 'error' && el.attrs.id === id);
  await c.send(msg);
  return errorOf(await p);
}

/** The <query/> of a disco#info result for `to` (and `node`); rejects on an error. */
export async function discoInfo(c: TestClient, to: string, node?: string): Promise<Element> {
  const res = await c.iq(xml('iq', { type: 'get', to }, xml('query', { xmlns: DISCO_INFO, ...(node ? { node } : {}) })));
  return res.getChild('query', DISCO_INFO)!;
}

export const featuresOf = (query: Element): string[] => query.getChildren('feature').map((f) => f.attrs.var as string);
