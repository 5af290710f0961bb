import type { Config } from '../config/types.ts';
import { cloneElement, Element, formField, xml } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';

/** What a notification tells the app server (the `urn:xmpp:push:summary` form). */
export interface PushSummary {
  messageCount: number;
  lastMessageSender: string | null;
  lastMessageBody: string | null;
}

/** Longest body relayed to an app server (push services cap payloads around 4 KiB). */
const MAX_BODY = 1024;

/**
 * The summary for one message under the server's privacy settings: the sender only with
 * `push.withSender`; the body only with `push.withBody`, else the fixed `importantBody` text
 * for an important message (a body or an encrypted payload).
 */
export function summarize(config: Config['push'], count: number, sender: string | null, body: string | null, important: boolean): PushSummary {
  let text: string | null = null;
  if (config.withBody && body) text = body.length > MAX_BODY ? [...body].slice(0, MAX_BODY).join('') : body;
  else if (important && config.importantBody) text = config.importantBody;
  return { messageCount: count, lastMessageSender: config.withSender ? sender : null, lastMessageBody: text };
}

/**
 * What one message's notifications share: who publishes them and the summary fields but the
 * message-count, which is each member's own. Built once per message, however many members
 * and devices it notifies; the form fields for app servers reached through the router are
 * built once too, on first use, and shared by every notification of the message.
 */
export class PushContent {
  /** The summary form's fields after message-count (sender, body), shared read-only. */
  private tailFields: Element[] | null = null;

  constructor(
    /** The publisher: the MUC domain, or the user's domain. */
    readonly from: string,
    /** `last-message-sender`, or null when not sent. */
    readonly sender: string | null,
    /** `last-message-body`, or null when not sent. */
    readonly body: string | null,
    /** The room (bare JID) whose message this is about, or null; never sent, told to the built-in app server's inspection. */
    readonly room: string | null = null,
  ) {}

  /** The content of one message under the server's privacy settings (see `summarize`). */
  static of(config: Config['push'], from: string, sender: string | null, body: string | null, important: boolean, room: string | null = null): PushContent {
    const s = summarize(config, 0, sender, body, important);
    // Empty values are left out of the form, so the app server sees null either way.
    return new PushContent(from, s.lastMessageSender || null, s.lastMessageBody || null, room);
  }

  summary(count: number): PushSummary {
    return { messageCount: count, lastMessageSender: this.sender, lastMessageBody: this.body };
  }

  /** @internal the shared sender/body fields (parented to a template form, never to a notification). */
  fields(): Element[] {
    if (this.tailFields) return this.tailFields;
    const template = xml('x', { xmlns: NS.DATA, type: 'submit' });
    if (this.sender) template.cnode(formField('last-message-sender', this.sender));
    if (this.body) template.cnode(formField('last-message-body', this.body));
    return (this.tailFields = template.children as Element[]);
  }
}

/** Parts of the summary form and of a registration's publish-options that never change. */
const FORM_TYPE_TEMPLATE = xml('x', { xmlns: NS.DATA, type: 'submit' }, formField('FORM_TYPE', NS.PUSH_SUMMARY, { type: 'hidden' }));
const FORM_TYPE_FIELD = FORM_TYPE_TEMPLATE.children[0] as Element;

/**
 * A registration's `<publish-options>` element, built once (a copy of the stored form) and
 * shared read-only by its notifications. Its parent is a template `<pubsub/>`, so namespace
 * lookups from it answer as they would inside a notification.
 */
export function publishOptionsElement(form: Element): Element {
  const template = xml('pubsub', { xmlns: NS.PUBSUB }, xml('publish-options', {}, cloneElement(form)));
  return template.children[0] as Element;
}

/** A text-only child, as `field.c('value').t(text)` makes it. */
function valueOf(text: string): Element {
  const value = new Element('value', {});
  value.children.push(text);
  return value;
}

/**
 * XEP-0357 section 6: an iq set publishing one notification to NODE at the app server, with the
 * registration's publish-options form (the secret, usually) as the client gave it. `shared`
 * elements (the message's summary fields and the registration's publish-options) are placed
 * in the tree without being re-parented or copied: every part of the server treats a routed
 * stanza as read-only. It serializes exactly as a tree built element by element.
 */
export function buildNotification(opts: { id: string; to: string; node: string; count: number; content: PushContent; publishOptions: Element | null }): Element {
  const iq = new Element('iq', { type: 'set', id: opts.id, from: opts.content.from, to: opts.to });
  const pubsub = new Element('pubsub', { xmlns: NS.PUBSUB });
  const publish = new Element('publish', { node: opts.node });
  const item = new Element('item', {});
  const notification = new Element('notification', { xmlns: NS.PUSH });
  const form = new Element('x', { xmlns: NS.DATA, type: 'submit' });
  const count = new Element('field', { var: 'message-count' });
  count.cnode(valueOf(String(opts.count)));
  form.children.push(FORM_TYPE_FIELD);
  form.cnode(count);
  for (const f of opts.content.fields()) form.children.push(f);
  notification.cnode(form);
  item.cnode(notification);
  publish.cnode(item);
  pubsub.cnode(publish);
  if (opts.publishOptions) pubsub.children.push(opts.publishOptions);
  iq.cnode(pubsub);
  return iq;
}
