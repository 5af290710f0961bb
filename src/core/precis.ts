/**
 * PRECIS (RFC 8264): the IdentifierClass and FreeformClass, and the profiles mucpush uses:
 * UsernameCaseMapped and OpaqueString (RFC 8265) and Nickname (RFC 8266). Every account name,
 * JID part and room nick is prepared here, so IBR, SASL, the CLI and routing agree on one form.
 *
 * Derived properties follow RFC 8264 §8 with Unicode property escapes (Node's ICU tables).
 * Two rules need data JavaScript regexes do not expose, and are approximated on the safe side:
 * - CONTEXTJ (RFC 5892 A.1, A.2): ZWNJ and ZWJ are accepted only after a virama; ZWNJ's
 *   Joining_Type alternative (Arabic-script joining) is not implemented, so it is refused there.
 * - The Bidi Rule (RFC 5893) of UsernameCaseMapped classifies characters by script (right-to-left
 *   scripts are R/AL), by the Arabic digit ranges (AN, EN) and by general category (NSM, L).
 *
 * Passwords are not prepared here: SCRAM's stored keys are derived from the SASLprep form
 * (RFC 5802 §2.2, RFC 7677), which clients compute too, so passwords stay on SASLprep
 * (src/stream/sasl/credentials.ts); switching them to OpaqueString would lock out stored accounts.
 */

/** RFC 5892 §2.6 exceptions. */
const EXCEPTION_PVALID = /^[\u00df\u03c2\u06fd\u06fe\u0f0b\u3007]$/u;
const EXCEPTION_CONTEXTO = /^[\u00b7\u0375\u05f3\u05f4\u30fb\u0660-\u0669\u06f0-\u06f9]$/u;
const EXCEPTION_DISALLOWED = /^[\u0640\u07fa\u302e\u302f\u3031-\u3035\u303b]$/u;
const UNASSIGNED = /^\p{Cn}$/u;
const ASCII7 = /^[\x21-\x7e]$/u;
const JOIN_CONTROL = /^[\u200c\u200d]$/u;
/** Hangul_Syllable_Type L, V or T. */
const OLD_HANGUL_JAMO = /^[\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff]$/u;
const PRECIS_IGNORABLE = /^[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]$/u;
const CONTROLS = /^\p{Cc}$/u;
const LETTER_DIGITS = /^[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}]$/u;
/** OtherLetterDigits, Spaces, Symbols, Punctuation: ID_DIS, FREE_PVAL. */
const FREEFORM_ONLY = /^[\p{Lt}\p{Nl}\p{No}\p{Me}\p{Zs}\p{Sm}\p{Sc}\p{Sk}\p{So}\p{Pc}\p{Pd}\p{Ps}\p{Pe}\p{Pi}\p{Pf}\p{Po}]$/u;

type Derived = 'PVALID' | 'FREE_PVAL' | 'CONTEXTJ' | 'CONTEXTO' | 'DISALLOWED';

/** RFC 8264 §8: the derived property of one code point. */
function derived(ch: string): Derived {
  if (EXCEPTION_PVALID.test(ch)) return 'PVALID';
  if (EXCEPTION_CONTEXTO.test(ch)) return 'CONTEXTO';
  if (EXCEPTION_DISALLOWED.test(ch)) return 'DISALLOWED';
  if (UNASSIGNED.test(ch)) return 'DISALLOWED';
  if (ASCII7.test(ch)) return 'PVALID';
  if (JOIN_CONTROL.test(ch)) return 'CONTEXTJ';
  if (OLD_HANGUL_JAMO.test(ch) || PRECIS_IGNORABLE.test(ch) || CONTROLS.test(ch)) return 'DISALLOWED';
  if (ch.normalize('NFKC') !== ch) return 'FREE_PVAL'; // HasCompat
  if (LETTER_DIGITS.test(ch)) return 'PVALID';
  if (FREEFORM_ONLY.test(ch)) return 'FREE_PVAL';
  return 'DISALLOWED';
}

/**
 * Canonical_Combining_Class 9 (Virama), found through canonical reordering: a mark of class 9
 * moves before a following class-8 mark (U+3099) and after a preceding class-10 mark (U+05B0).
 */
function isVirama(ch: string | undefined): boolean {
  if (ch === undefined) return false;
  return `a${ch}\u3099`.normalize('NFD') === `a\u3099${ch}` && `a\u05b0${ch}`.normalize('NFD') === `a${ch}\u05b0`;
}

const GREEK = /^\p{Script=Greek}$/u;
const HEBREW = /^\p{Script=Hebrew}$/u;
const KANA_HAN = /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u;
const ARABIC_INDIC = /[\u0660-\u0669]/u;
const EXTENDED_ARABIC_INDIC = /[\u06f0-\u06f9]/u;

/** RFC 5892 Appendix A: whether a CONTEXTJ or CONTEXTO code point is allowed where it stands. */
function contextAllows(cps: string[], i: number, s: string): boolean {
  const ch = cps[i]!;
  const before = cps[i - 1];
  const after = cps[i + 1];
  switch (ch) {
    case '\u200c':
    case '\u200d':
      return isVirama(before);
    case '\u00b7':
      return before === 'l' && after === 'l';
    case '\u0375':
      return after !== undefined && GREEK.test(after);
    case '\u05f3':
    case '\u05f4':
      return before !== undefined && HEBREW.test(before);
    case '\u30fb':
      return KANA_HAN.test(s);
    default:
      // Arabic-Indic digits and Extended Arabic-Indic digits do not mix.
      return ARABIC_INDIC.test(ch) ? !EXTENDED_ARABIC_INDIC.test(s) : !ARABIC_INDIC.test(s);
  }
}

/** Whether every code point of `s` is allowed by the IdentifierClass or (freeform) the FreeformClass. */
function inClass(s: string, freeform: boolean): boolean {
  const cps = [...s];
  for (let i = 0; i < cps.length; i++) {
    const d = derived(cps[i]!);
    if (d === 'PVALID') continue;
    if (d === 'FREE_PVAL' && freeform) continue;
    if ((d === 'CONTEXTJ' || d === 'CONTEXTO') && contextAllows(cps, i, s)) continue;
    return false;
  }
  return true;
}

const RTL_SCRIPTS = [
  'Hebrew', 'Arabic', 'Syriac', 'Thaana', 'Nko', 'Samaritan', 'Mandaic', 'Adlam', 'Hanifi_Rohingya', 'Mende_Kikakui',
  'Imperial_Aramaic', 'Phoenician', 'Kharoshthi', 'Old_South_Arabian', 'Old_North_Arabian', 'Avestan',
  'Inscriptional_Parthian', 'Inscriptional_Pahlavi', 'Psalter_Pahlavi', 'Old_Turkic', 'Cypriot', 'Lydian',
  'Nabataean', 'Palmyrene', 'Hatran', 'Manichaean', 'Old_Hungarian', 'Old_Sogdian', 'Sogdian', 'Elymaic',
  'Chorasmian', 'Yezidi', 'Meroitic_Cursive', 'Meroitic_Hieroglyphs', 'Old_Uyghur',
];
const RTL = new RegExp(`^[${RTL_SCRIPTS.map((s) => `\\p{Script=${s}}`).join('')}]$`, 'u');
const BIDI_AN = /^[\u0600-\u0605\u0660-\u0669\u066b\u066c\u06dd\u0890\u0891\u08e2\u{10d30}-\u{10d39}\u{10e60}-\u{10e7e}]$/u;
const BIDI_EN = /^[0-9\u00b2\u00b3\u00b9\u06f0-\u06f9\u2070\u2074-\u2079\u2080-\u2089]$/u;
const BIDI_NSM = /^[\p{Mn}\p{Me}]$/u;
const BIDI_L = /^[\p{L}\p{Mc}\p{Nd}\p{Nl}]$/u;

type Bidi = 'R' | 'AN' | 'EN' | 'NSM' | 'L' | 'ON';

function bidiClass(ch: string): Bidi {
  if (BIDI_AN.test(ch)) return 'AN';
  if (BIDI_EN.test(ch)) return 'EN';
  if (BIDI_NSM.test(ch)) return 'NSM';
  if (RTL.test(ch)) return 'R';
  if (BIDI_L.test(ch)) return 'L';
  return 'ON';
}

/** RFC 5893 §2, for a string with right-to-left characters (R, AL or AN); others pass. */
function bidiRuleHolds(s: string): boolean {
  const classes = [...s].map(bidiClass);
  if (!classes.some((c) => c === 'R' || c === 'AN')) return true;
  if (classes[0] !== 'R') return false; // condition 1 (an L start makes an LTR label, which cannot hold R/AN)
  if (classes.includes('L')) return false; // condition 2
  const last = classes.findLast((c) => c !== 'NSM');
  if (last !== 'R' && last !== 'EN' && last !== 'AN') return false; // condition 3
  return !(classes.includes('EN') && classes.includes('AN')); // condition 4
}

/** Fullwidth and halfwidth code points (decomposition tags <wide>, <narrow>). */
const WIDE_NARROW = /[\u3000\uff01-\uffee]/gu;
const widthMap = (s: string) => s.replace(WIDE_NARROW, (c) => c.normalize('NFKC'));
const NON_ASCII_SPACE = /[^\P{Zs} ]/gu;

/**
 * RFC 8264 §7: the rules are applied until the output is stable; a string that has not settled
 * after three more applications is refused.
 */
function stable(enforce: (s: string) => string | undefined): (s: string) => string | undefined {
  return (input) => {
    let s = enforce(input);
    for (let i = 0; i < 3 && s !== undefined; i++) {
      const again = enforce(s);
      if (again === s) return s;
      s = again;
    }
    return undefined;
  };
}

/** RFC 8265 §3.3 UsernameCaseMapped: width mapping, IdentifierClass, toLowerCase, NFC, Bidi Rule, non-empty. */
export const usernameCaseMapped = stable((input) => {
  const prepared = widthMap(input);
  if (!inClass(prepared, false)) return undefined;
  const s = prepared.toLowerCase().normalize('NFC');
  return s.length > 0 && bidiRuleHolds(s) ? s : undefined;
});

/** RFC 8265 §4.2 OpaqueString: FreeformClass, non-ASCII spaces to U+0020, NFC, non-empty. */
export const opaqueString = stable((input) => {
  if (!inClass(input, true)) return undefined;
  const s = input.replace(NON_ASCII_SPACE, ' ').normalize('NFC');
  return s.length > 0 ? s : undefined;
});

/** RFC 8266 §2.1 additional mapping: spaces to U+0020, trimmed, runs of spaces collapsed. */
const nicknameSpaces = (s: string) => s.replace(NON_ASCII_SPACE, ' ').replace(/ {2,}/g, ' ').replace(/^ | $/g, '');

/** RFC 8266 §2.3 Nickname enforcement: FreeformClass, space mapping, NFKC, non-empty; case is kept. */
export const nickname = stable((input) => {
  if (!inClass(input, true)) return undefined;
  const s = nicknameSpaces(input).normalize('NFKC');
  return s.length > 0 ? s : undefined;
});

/**
 * RFC 8266 §2.4 comparison form: space mapping, toLowerCase, NFKC. Two nicks are the same nick
 * when their keys are equal; for any string, so that lookups of unenforced input simply miss.
 */
export function nicknameKey(nick: string): string {
  // Printable ASCII without spaces maps to itself but for case: the common nick skips the rules.
  if (/^[\x21-\x7e]*$/.test(nick)) return nick.toLowerCase();
  return nicknameSpaces(nick).toLowerCase().normalize('NFKC');
}

/** Length limits of RFC 7622 are in UTF-8 octets, not UTF-16 units. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
