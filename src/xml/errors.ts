import { NS } from './ns.ts';
import { cloneElement, Element, xml } from './element.ts';

export type StanzaErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

export type StanzaErrorCondition =
  | 'bad-request'
  | 'conflict'
  | 'feature-not-implemented'
  | 'forbidden'
  | 'gone'
  | 'internal-server-error'
  | 'item-not-found'
  | 'jid-malformed'
  | 'not-acceptable'
  | 'not-allowed'
  | 'not-authorized'
  | 'policy-violation'
  | 'recipient-unavailable'
  | 'redirect'
  | 'registration-required'
  | 'remote-server-not-found'
  | 'remote-server-timeout'
  | 'resource-constraint'
  | 'service-unavailable'
  | 'subscription-required'
  | 'undefined-condition'
  | 'unexpected-request';

/** RFC 6120 section 8.3.3: the usual type for each condition. */
const DEFAULT_TYPE: Record<StanzaErrorCondition, StanzaErrorType> = {
  'bad-request': 'modify',
  conflict: 'cancel',
  'feature-not-implemented': 'cancel',
  forbidden: 'auth',
  gone: 'cancel',
  'internal-server-error': 'cancel',
  'item-not-found': 'cancel',
  'jid-malformed': 'modify',
  'not-acceptable': 'modify',
  'not-allowed': 'cancel',
  'not-authorized': 'auth',
  'policy-violation': 'modify',
  'recipient-unavailable': 'wait',
  redirect: 'modify',
  'registration-required': 'auth',
  'remote-server-not-found': 'cancel',
  'remote-server-timeout': 'wait',
  'resource-constraint': 'wait',
  'service-unavailable': 'cancel',
  'subscription-required': 'auth',
  'undefined-condition': 'cancel',
  'unexpected-request': 'wait',
};

export type StreamErrorCondition =
  | 'bad-format'
  | 'bad-namespace-prefix'
  | 'conflict'
  | 'connection-timeout'
  | 'host-gone'
  | 'host-unknown'
  | 'improper-addressing'
  | 'internal-server-error'
  | 'invalid-from'
  | 'invalid-namespace'
  | 'invalid-xml'
  | 'not-authorized'
  | 'not-well-formed'
  | 'policy-violation'
  | 'remote-connection-failed'
  | 'reset'
  | 'resource-constraint'
  | 'restricted-xml'
  | 'see-other-host'
  | 'system-shutdown'
  | 'undefined-condition'
  | 'unsupported-encoding'
  | 'unsupported-feature'
  | 'unsupported-stanza-type'
  | 'unsupported-version';

/** A stanza-level failure that a handler throws; the dispatcher turns it into an error reply. */
export class StanzaError extends Error {
  constructor(
    readonly condition: StanzaErrorCondition,
    readonly text?: string,
    readonly type: StanzaErrorType = DEFAULT_TYPE[condition],
    readonly extra?: Element,
    /** Extra payload children (e.g. the original query) echoed inside the error reply. */
  ) {
    super(text ?? condition);
  }
}

/** A stream-level failure: the connection is closed with this condition. */
export class StreamError extends Error {
  constructor(
    readonly condition: StreamErrorCondition,
    readonly text?: string,
  ) {
    super(text ? `${condition}: ${text}` : condition);
  }
}

export function errorElement(condition: StanzaErrorCondition, text?: string, type?: StanzaErrorType, by?: string): Element {
  const el = xml('error', { type: type ?? DEFAULT_TYPE[condition], ...(by ? { by } : {}) }, xml(condition, { xmlns: NS.STANZAS_ERR }));
  if (text) el.c('text', { xmlns: NS.STANZAS_ERR, 'xml:lang': 'en' }).t(text);
  return el;
}

/**
 * The error reply to `stanza` (RFC 6120 8.3.1): addresses swapped, type error, the original
 * payload kept for IQs so the requester can match it. `by` names the entity that generated the
 * error (RFC 6120 8.3.2), e.g. a room rather than the occupant JID the stanza was sent to.
 */
export function errorReply(stanza: Element, err: StanzaError | StanzaErrorCondition, text?: string, by?: string): Element {
  const e = typeof err === 'string' ? new StanzaError(err, text) : err;
  const attrs: Record<string, string> = { type: 'error' };
  if (stanza.attrs.from) attrs.to = stanza.attrs.from;
  if (stanza.attrs.to) attrs.from = stanza.attrs.to;
  if (stanza.attrs.id) attrs.id = stanza.attrs.id;
  const reply = xml(stanza.name, attrs);
  if (stanza.name !== 'iq') {
    for (const c of stanza.children) if (typeof c !== 'string' && c.name !== 'error') reply.cnode(cloneElement(c));
  }
  const errEl = errorElement(e.condition, e.text, e.type, by);
  if (e.extra) errEl.cnode(e.extra);
  reply.cnode(errEl);
  return reply;
}

export function streamErrorElement(condition: StreamErrorCondition, text?: string): Element {
  const el = xml('stream:error', { 'xmlns:stream': NS.STREAM }, xml(condition, { xmlns: NS.STREAMS_ERR }));
  if (text) el.c('text', { xmlns: NS.STREAMS_ERR, 'xml:lang': 'en' }).t(text);
  return el;
}

/** Reads the defined condition of an error stanza. */
export function errorCondition(stanza: Element): { type?: string; condition?: string; text?: string } {
  const err = stanza.getChild('error');
  if (!err) return {};
  const cond = err.children.find((c): c is Element => typeof c !== 'string' && c.name !== 'text');
  return { type: err.attrs.type as string | undefined, condition: cond?.name, text: err.getChildText('text') ?? undefined };
}
