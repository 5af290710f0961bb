import { xml } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { Host } from './host.ts';

/** The zone offset of `at` in XEP-0082 form (+hh:mm / -hh:mm). */
export function zoneOffset(at: Date): string {
  const minutes = -at.getTimezoneOffset();
  const abs = Math.abs(minutes);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** XEP-0202 for the server itself: its UTC clock and zone offset. A set falls to service-unavailable. */
export function installEntityTime(host: Host): void {
  host.iq.on('server', 'get', 'time', NS.TIME, () => {
    const now = new Date();
    // XEP-0082 DateTime; whole seconds are enough for clock-skew checks.
    const utc = `${now.toISOString().slice(0, 19)}Z`;
    return xml('time', { xmlns: NS.TIME }, xml('tzo', {}, zoneOffset(now)), xml('utc', {}, utc));
  });
  host.disco.addFeature('server', NS.TIME);
}
