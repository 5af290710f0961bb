import xml, { Element } from '@xmpp/xml';

export { Element, xml };

export function escapeAttr(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

/** Reads the values of a jabber:x:data form into a map of field var to values. */
export function formValues(form: Element | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!form) return out;
  for (const field of form.getChildren('field')) {
    const name = field.attrs.var as string | undefined;
    if (!name) continue;
    out.set(
      name,
      field.getChildren('value').map((v) => v.text()),
    );
  }
  return out;
}

/** Builds a data form field; values may be a string, a list or a boolean. */
export function formField(
  varName: string,
  value: string | string[] | boolean | number | undefined,
  opts: { type?: string; label?: string; options?: { label?: string; value: string }[] } = {},
): Element {
  const field = xml('field', { var: varName, ...(opts.type ? { type: opts.type } : {}), ...(opts.label ? { label: opts.label } : {}) });
  const values = value === undefined ? [] : Array.isArray(value) ? value : [typeof value === 'boolean' ? (value ? '1' : '0') : String(value)];
  for (const v of values) field.c('value').t(v);
  for (const o of opts.options ?? []) field.c('option', o.label ? { label: o.label } : {}).c('value').t(o.value);
  return field;
}

export function parseBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  return undefined;
}

/** Deep copy of an element (ltx's clone is not in the typings). */
export function cloneElement(el: Element): Element {
  const copy = new Element(el.name, { ...el.attrs });
  for (const c of el.children) copy.children.push(typeof c === 'string' ? c : cloneElement(c));
  for (const c of copy.children) if (typeof c !== 'string') c.parent = copy;
  return copy;
}
