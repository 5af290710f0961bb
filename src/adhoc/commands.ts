import { randomBytes } from 'node:crypto';
import type { Jid } from '../core/jid.ts';
import { asStanzaError } from '../admin/errors.ts';
import { formValues, xml, type Element } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';

/** What a command answers when it completes: a note for the person, and/or a result form. */
export interface CommandResult {
  note?: string;
  form?: Element;
}

export interface AdhocCommand {
  node: string;
  name: string;
  /** The form the requester fills in; null for a command that runs at once (the lists). */
  form: (() => Element) | null;
  run(values: Map<string, string[]>, from: Jid): Promise<CommandResult> | CommandResult;
}

/** disco#info / disco#items of a node, for the Disco of the entity the commands live on. */
export interface DiscoNodes {
  /** The answer for `node`, or undefined when the node is not this provider's. */
  info(node: string, from: Jid): Element | undefined;
  items(node: string, from: Jid): Element | undefined;
}

/** Form sessions waiting for their submission (XEP-0050 sessionid). */
const SESSION_TTL_MS = 10 * 60_000;
const MAX_SESSIONS = 1000;

/** XEP-0050 application error: a bad-request or not-allowed with its specific condition. */
const commandError = (condition: 'bad-request' | 'not-allowed', specific: string, text: string) =>
  new StanzaError(condition, text, undefined, xml(specific, { xmlns: NS.COMMANDS }));

/**
 * XEP-0050 ad-hoc commands of one entity (the server domain, the MUC service): listed in
 * disco#items of the `http://jabber.org/protocol/commands` node to who may run them, each
 * command node answering disco#info, and executed with `<command action="execute"/>`: a command
 * with a form answers `executing` with the form, then runs on the submission (or at once when the
 * first request already carries a submitted form); the lists run at once.
 */
export class AdhocCommands implements DiscoNodes {
  private readonly commands = new Map<string, AdhocCommand>();
  private readonly sessions = new Map<string, { node: string; from: string; expires: number }>();

  constructor(
    /** The JID the commands are on (items name it). */
    private readonly jid: string,
    /** Who may list and run them (read at each request: a reload may change the admins). */
    private readonly allowed: (from: Jid) => boolean,
  ) {}

  add(command: AdhocCommand): void {
    this.commands.set(command.node, command);
  }

  items(node: string, from: Jid): Element | undefined {
    if (node !== NS.COMMANDS) return undefined;
    const q = xml('query', { xmlns: NS.DISCO_ITEMS, node });
    // XEP-0050 2.2: the list MAY be only what the requester can run; others learn nothing.
    if (this.allowed(from)) for (const c of this.commands.values()) q.c('item', { jid: this.jid, node: c.node, name: c.name });
    return q;
  }

  info(node: string, from: Jid): Element | undefined {
    if (node === NS.COMMANDS) return xml('query', { xmlns: NS.DISCO_INFO, node }, xml('identity', { category: 'automation', type: 'command-list' }));
    const c = this.commands.get(node);
    if (!c) return undefined;
    if (!this.allowed(from)) throw new StanzaError('forbidden');
    return xml(
      'query',
      { xmlns: NS.DISCO_INFO, node },
      xml('identity', { category: 'automation', type: 'command-node', name: c.name }),
      xml('feature', { var: NS.COMMANDS }),
      xml('feature', { var: NS.DATA }),
    );
  }

  /** Answers one `<command/>` IQ set; throws StanzaError. */
  async execute(payload: Element, from: Jid): Promise<Element> {
    const node = payload.attrs.node as string | undefined;
    const command = node === undefined ? undefined : this.commands.get(node);
    if (!command) throw new StanzaError('item-not-found', 'no such command');
    if (!this.allowed(from)) throw new StanzaError('forbidden', 'only service administrators may run this command');
    const action = (payload.attrs.action as string | undefined) ?? 'execute';
    if (!['execute', 'complete', 'cancel', 'next', 'prev'].includes(action)) throw commandError('bad-request', 'malformed-action', `unknown action "${action}"`);
    const reply = (sessionid: string, status: string, ...children: Element[]) =>
      xml('command', { xmlns: NS.COMMANDS, node: command.node, sessionid, status }, ...children);

    const form = payload.getChild('x', NS.DATA);
    let sessionid = payload.attrs.sessionid as string | undefined;
    if (sessionid !== undefined) {
      this.purge();
      const session = this.sessions.get(sessionid);
      if (!session || session.node !== command.node || session.from !== from.full) throw commandError('bad-request', 'bad-sessionid', 'no such command session');
      this.sessions.delete(sessionid);
      if (action === 'cancel' || form?.attrs.type === 'cancel') return reply(sessionid, 'canceled');
      if (action === 'next' || action === 'prev') throw commandError('bad-request', 'bad-action', 'this command has a single stage');
    } else {
      sessionid = randomBytes(12).toString('base64url');
      if (action === 'cancel') return reply(sessionid, 'canceled');
      if (action !== 'execute') throw commandError('bad-request', 'bad-action', `"${action}" needs a command session`);
      if (command.form && form?.attrs.type !== 'submit') {
        this.purge();
        if (this.sessions.size >= MAX_SESSIONS) throw new StanzaError('resource-constraint', 'too many command sessions open; try again later', 'wait');
        this.sessions.set(sessionid, { node: command.node, from: from.full, expires: Date.now() + SESSION_TTL_MS });
        return reply(sessionid, 'executing', xml('actions', { execute: 'complete' }, xml('complete')), command.form());
      }
    }
    if (command.form && form?.attrs.type !== 'submit') throw commandError('bad-request', 'bad-payload', 'submit the command form (type "submit")');
    const result = await asStanzaError(() => command.run(formValues(form), from));
    return reply(sessionid, 'completed', ...(result.note ? [xml('note', { type: 'info' }, result.note)] : []), ...(result.form ? [result.form] : []));
  }

  private purge(): void {
    const now = Date.now();
    for (const [id, s] of this.sessions) if (s.expires <= now) this.sessions.delete(id);
  }
}
