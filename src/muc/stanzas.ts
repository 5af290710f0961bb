import { escapeAttr, xml, type Element } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { Occupant } from './occupant.ts';
import type { Affiliation, Role } from './types.ts';

/** The serialized ` to="..."` attribute for a recipient (see `Prepared.forAttr`). */
export function toAttr(to: string): string {
  return ` to="${escapeAttr(to)}"`;
}

/**
 * Serializes once, then gives each recipient its own copy with only `to` differing: the
 * fan-out never builds an element per recipient.
 */
export class Prepared {
  private readonly head: string;
  private readonly tail: string;

  constructor(readonly el: Element) {
    const text = el.toString();
    const cut = el.name.length + 1;
    this.head = text.slice(0, cut);
    this.tail = text.slice(cut);
  }

  for(to: string): string {
    return this.head + toAttr(to) + this.tail;
  }

  /** As `for`, with the recipient's ` to="..."` already serialized by `toAttr` (kept per occupant session). */
  forAttr(attr: string): string {
    return this.head + attr + this.tail;
  }
}

export interface ItemOptions {
  affiliation: Affiliation;
  role: Role;
  jid?: string;
  nick?: string;
  actor?: string;
  reason?: string;
}

/** The muc#user <x/> payload of an occupant presence. */
export function mucUserX(item: ItemOptions, codes: number[] = []): Element {
  const it = xml('item', { affiliation: item.affiliation, role: item.role, ...(item.jid ? { jid: item.jid } : {}), ...(item.nick ? { nick: item.nick } : {}) });
  if (item.actor) it.c('actor', { nick: item.actor });
  if (item.reason) it.c('reason').t(item.reason);
  const x = xml('x', { xmlns: NS.MUC_USER }, it);
  for (const code of [...new Set(codes)].sort((a, b) => a - b)) x.c('status', { code: String(code) });
  return x;
}

/** Children of a client presence worth relaying (show, status, caps, ...), without MUC payloads. */
export function presencePayload(presence: Element | undefined): Element[] {
  if (!presence) return [];
  return presence.children.filter(
    (c): c is Element =>
      typeof c !== 'string' &&
      c.attrs.xmlns !== NS.MUC &&
      c.attrs.xmlns !== NS.MUC_USER &&
      c.attrs.xmlns !== NS.OCCUPANT_ID &&
      c.name !== 'error',
  );
}

export function occupantIdEl(occupant: Occupant): Element {
  return xml('occupant-id', { xmlns: NS.OCCUPANT_ID, id: occupant.occupantId });
}
