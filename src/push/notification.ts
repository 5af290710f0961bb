import type { Config } from '../config/types.ts';
import { cloneElement, formField, xml, type Element } from '../xml/element.ts';
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
 * XEP-0357 section 6: an iq set publishing one notification to NODE at the app server, with the
 * registration's publish-options form (the secret, usually) as the client gave it.
 */
export function buildNotification(opts: { id: string; from: string; to: string; node: string; summary: PushSummary; publishOptions: Element | null }): Element {
  const form = xml('x', { xmlns: NS.DATA, type: 'submit' }, formField('FORM_TYPE', NS.PUSH_SUMMARY, { type: 'hidden' }), formField('message-count', opts.summary.messageCount));
  if (opts.summary.lastMessageSender) form.cnode(formField('last-message-sender', opts.summary.lastMessageSender));
  if (opts.summary.lastMessageBody) form.cnode(formField('last-message-body', opts.summary.lastMessageBody));
  const pubsub = xml(
    'pubsub',
    { xmlns: NS.PUBSUB },
    xml('publish', { node: opts.node }, xml('item', {}, xml('notification', { xmlns: NS.PUSH }, form))),
  );
  if (opts.publishOptions) pubsub.cnode(xml('publish-options', {}, cloneElement(opts.publishOptions)));
  return xml('iq', { type: 'set', id: opts.id, from: opts.from, to: opts.to }, pubsub);
}
