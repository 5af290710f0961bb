import { xml, type Element } from '../xml/element.ts';
import type { Jid } from '../core/jid.ts';
import { NS } from '../xml/ns.ts';
import type { IqHandlers, IqTarget } from './iq-handlers.ts';
import { StanzaError } from '../xml/errors.ts';
import type { DiscoNodes } from '../adhoc/commands.ts';

export interface Identity {
  category: string;
  type: string;
  name?: string;
}

/** Service discovery (XEP-0030) for the server and for accounts; features register here. */
export class Disco {
  private readonly features: Record<IqTarget, Set<string>> = {
    server: new Set([NS.DISCO_INFO, NS.DISCO_ITEMS]),
    account: new Set([NS.DISCO_INFO]),
  };
  private readonly identities: Record<IqTarget, Identity[]> = {
    server: [{ category: 'server', type: 'im', name: 'mucpush' }],
    account: [{ category: 'account', type: 'registered' }],
  };
  private readonly items: { jid: string; name?: string }[] = [];
  /** XEP-0128 extended information: forms built at each query (so reloaded config shows). */
  private readonly extensions: Record<IqTarget, (() => Element | null)[]> = { server: [], account: [] };
  /** Who answers for disco nodes of the server (the ad-hoc commands). */
  readonly nodes: DiscoNodes[] = [];

  constructor(iq: IqHandlers) {
    for (const target of ['server', 'account'] as const) {
      iq.on(target, 'get', 'query', NS.DISCO_INFO, ({ payload, from }) => {
        // An unknown node is item-not-found: an empty result would read as "no identity" (XEP-0030 3.1).
        if (payload.attrs.node !== undefined) return this.node(target, 'info', payload.attrs.node as string, from);
        return this.info(target);
      });
      iq.on(target, 'get', 'query', NS.DISCO_ITEMS, ({ payload, from }) => {
        if (payload.attrs.node) return this.node(target, 'items', payload.attrs.node as string, from);
        const q = xml('query', { xmlns: NS.DISCO_ITEMS });
        if (target === 'server') for (const i of this.items) q.c('item', { ...i });
        return q;
      });
    }
  }

  private node(target: IqTarget, kind: 'info' | 'items', node: string, from: Jid): Element {
    if (target === 'server') {
      for (const provider of this.nodes) {
        const answer = provider[kind](node, from);
        if (answer) return answer;
      }
    }
    throw new StanzaError('item-not-found', 'no such node');
  }

  addFeature(target: IqTarget, feature: string): void {
    this.features[target].add(feature);
  }

  /** Adds an XEP-0128 data form to disco#info; `build` returns null when it has nothing to say. */
  addExtension(target: IqTarget, build: () => Element | null): void {
    this.extensions[target].push(build);
  }

  /** A hosted service (MUC, push app server) listed in the server's disco#items. */
  addItem(jid: string, name?: string): void {
    this.items.push(name ? { jid, name } : { jid });
  }

  info(target: IqTarget): Element {
    const q = xml('query', { xmlns: NS.DISCO_INFO });
    for (const i of this.identities[target]) q.c('identity', { ...i });
    for (const f of [...this.features[target]].sort()) q.c('feature', { var: f });
    for (const build of this.extensions[target]) {
      const form = build();
      if (form) q.cnode(form);
    }
    return q;
  }
}
