import { cloneElement, xml, type Element } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { MucService } from './service.ts';
import type { Room } from './room.ts';
import { Prepared } from './stanzas.ts';
import { parseArchived } from '../store/archive.ts';
import { PRIORITY } from './priorities.ts';

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

  // A persistent room loaded after a restart gets its recent history back from the archive.
  muc.hooks.on('room:created', async ({ room }) => {
    if (!muc.archive || !room.config.persistent || !room.config.archiving) return;
    try {
      const loaded = (await muc.archive.latest(room.jid.bare, cap)).map((m) => ({ el: parseArchived(m.xml), time: m.time, chars: 0 }));
      const h = [...loaded, ...(histories.get(room) ?? [])];
      histories.set(room, h.slice(Math.max(0, h.length - cap)));
    } catch (err) {
      muc.ctx.log.error({ err, room: room.jid.bare }, 'cannot load history from the archive');
    }
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
        room.deliver(jid.full, new Prepared(copy));
      }
    },
    PRIORITY.joined.history,
  );

  muc.hooks.on('room:destroyed', ({ room }) => void histories.delete(room));
  muc.hooks.on('room:unloaded', ({ room }) => void histories.delete(room));
}
