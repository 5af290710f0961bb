import { cloneElement, xml, type Element } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { MucService } from './service.ts';
import type { Room } from './room.ts';
import { Prepared } from './stanzas.ts';

interface Entry {
  el: Element;
  time: number;
  chars: number;
}

/**
 * Discussion history sent on join (XEP-0045 7.2.14): the last messages kept in memory, filtered
 * by the joiner's maxstanzas, maxchars, seconds and since, each with a <delay/>.
 */
export function installHistory(muc: MucService): void {
  const histories = new WeakMap<Room, Entry[]>();
  const cap = muc.ctx.config.muc.maxHistoryLength;

  muc.hooks.on('room:message', ({ room, stanza }) => {
    if (!stanza.getChild('body')) return;
    let h = histories.get(room);
    if (!h) histories.set(room, (h = []));
    h.push({ el: stanza, time: Date.now(), chars: 0 });
    if (h.length > cap) h.splice(0, h.length - cap);
  });

  muc.hooks.on(
    'room:joined',
    ({ room, jid, stanza }) => {
      const all = histories.get(room) ?? [];
      const limit = room.config.historyLength;
      let entries = all.slice(Math.max(0, all.length - limit));
      const spec = stanza.getChild('x', NS.MUC)?.getChild('history');
      if (spec) {
        const maxstanzas = Number(spec.attrs.maxstanzas);
        const seconds = Number(spec.attrs.seconds);
        const since = spec.attrs.since ? Date.parse(spec.attrs.since as string) : NaN;
        const maxchars = Number(spec.attrs.maxchars);
        if (Number.isFinite(seconds)) entries = entries.filter((e) => e.time >= Date.now() - seconds * 1000);
        if (!Number.isNaN(since)) entries = entries.filter((e) => e.time > since);
        if (Number.isInteger(maxstanzas) && maxstanzas >= 0) entries = entries.slice(Math.max(0, entries.length - maxstanzas));
        if (Number.isInteger(maxchars) && maxchars >= 0) {
          // Counted on the full serialized stanzas, newest kept first.
          let budget = maxchars;
          const kept: Entry[] = [];
          for (let i = entries.length - 1; i >= 0; i--) {
            const e = entries[i]!;
            e.chars ||= e.el.toString().length;
            if (e.chars > budget) break;
            budget -= e.chars;
            kept.unshift(e);
          }
          entries = kept;
        }
      }
      for (const e of entries) {
        const copy = cloneElement(e.el);
        copy.cnode(xml('delay', { xmlns: NS.DELAY, stamp: new Date(e.time).toISOString(), from: room.jid.bare }));
        muc.deliver(jid.full, new Prepared(copy));
      }
    },
    20,
  );

  muc.hooks.on('room:destroyed', ({ room }) => void histories.delete(room));
}
