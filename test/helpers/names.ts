/**
 * Seeded random user names and nicks for property tests of string preparation: a mix of ASCII,
 * case pairs, composed and decomposed accents, fullwidth forms, ignorable and bidi controls,
 * right-to-left letters, digits of several scripts, symbols, emoji and variation selectors.
 */
const POOL = [
  ...'abcXYZ019_.-',
  'Ä', 'ä', 'a\u0308', 'É', 'ß', 'Σ', 'σ', 'ς', 'İ', 'ǅ',
  'Ａ', 'ｂ', '１', '\u3000', '\uff61',
  '\u00ad', '\u200b', '\u200c', '\u200d', '\u200f', '\u202e', '\u2060', '\ufeff', '\ufe0f', '\u0085', '\u0007', '\u007f',
  ' ', '\u00a0', '\t',
  '\u05d0', '\u05d1', '\u0627', '\u0628', '\u0661', '\u06f1', '\u064b',
  'क', '\u094d', '\u00b7', 'l',
  '♚', 'Ⅳ', '½', '😀', '👍', '@', '/', '&', '<', "'", '"', ':',
];

/** Mulberry32: a small deterministic PRNG, so a failure names a seed that reproduces it. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` strings of 1 to 6 pool entries each. */
export function randomNames(seed: number, count: number): string[] {
  const rnd = prng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = 1 + Math.floor(rnd() * 6);
    let s = '';
    for (let j = 0; j < len; j++) s += POOL[Math.floor(rnd() * POOL.length)];
    out.push(s);
  }
  return out;
}

/** XML text escaping for names put into raw stanzas. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
