import { AdminError } from '../admin/errors.ts';
import { formField, xml, type Element } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';

/** A XEP-0133 form (FORM_TYPE http://jabber.org/protocol/admin) of `type` with `fields`. */
export function adminForm(type: 'form' | 'result', title: string | null, fields: Element[]): Element {
  const x = xml('x', { xmlns: NS.DATA, type });
  if (title) x.c('title').t(title);
  x.cnode(formField('FORM_TYPE', NS.ADMIN, { type: 'hidden' }));
  for (const f of fields) x.cnode(f);
  return x;
}

export const required = (field: Element) => (field.c('required'), field);

export function one(values: Map<string, string[]>, name: string): string {
  const v = values.get(name)?.[0];
  if (v === undefined || v === '') throw new AdminError('bad-request', `the field ${name} is required`);
  return v;
}

export function many(values: Map<string, string[]>, name: string): string[] {
  const v = (values.get(name) ?? []).filter((s) => s !== '');
  if (v.length === 0) throw new AdminError('bad-request', `the field ${name} is required`);
  return v;
}
