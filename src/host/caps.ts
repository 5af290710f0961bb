import { createHash } from 'node:crypto';
import { xml, type Element } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';

/** The caps node naming this software (XEP-0115 wants a URI that identifies it). */
export const CAPS_NODE = 'urn:x-mucpush:server';
export const NS_CAPS = 'http://jabber.org/protocol/caps';

const bytewise = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The XEP-0115 section 5.1 verification string of a disco#info result, hashed with SHA-1:
 * identities (category/type/lang/name), features, then the extended forms (XEP-0128) by
 * FORM_TYPE with their fields by var, each item followed by '<', all sorted octet-wise.
 */
export function capsVer(info: Element): string {
  let s = '';
  const identities = info.getChildren('identity').map((i) =>
    [i.attrs.category, i.attrs.type, i.attrs['xml:lang'] ?? '', i.attrs.name ?? ''].map(String).join('/'),
  );
  for (const i of identities.sort(bytewise)) s += `${i}<`;
  for (const f of info.getChildren('feature').map((f) => String(f.attrs.var)).sort(bytewise)) s += `${f}<`;
  const forms = info.getChildren('x', NS.DATA).map((x) => {
    const fields = x.getChildren('field').map((f) => ({ name: String(f.attrs.var), values: f.getChildren('value').map((v) => v.text()) }));
    const type = fields.find((f) => f.name === 'FORM_TYPE')?.values[0] ?? '';
    return { type, fields: fields.filter((f) => f.name !== 'FORM_TYPE') };
  });
  for (const form of forms.sort((a, b) => bytewise(a.type, b.type))) {
    s += `${form.type}<`;
    for (const field of form.fields.sort((a, b) => bytewise(a.name, b.name))) {
      s += `${field.name}<`;
      for (const v of field.values.sort(bytewise)) s += `${v}<`;
    }
  }
  return createHash('sha1').update(s, 'utf8').digest('base64');
}

/** The `<c/>` element for stream features or presence, from the entity's disco#info. */
export function capsElement(info: Element): Element {
  return xml('c', { xmlns: NS_CAPS, hash: 'sha-1', node: CAPS_NODE, ver: capsVer(info) });
}
