/**
 * XML 1.0 character classes (https://www.w3.org/TR/xml/#charsets, #NT-Name).
 * The `u` flag makes the regexes work on code points, so a lone surrogate matches no range.
 */

const NOT_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

const NAME_START = ':A-Z_a-z\\xC0-\\xD6\\xD8-\\xF6\\xF8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NAME = new RegExp(`^[${NAME_START}][${NAME_START}\\-.0-9\\xB7\\u0300-\\u036F\\u203F\\u2040]*$`, 'u');

/** True when every character of `s` is an XML Char (no controls, U+FFFE/U+FFFF or lone surrogates). */
export function isXmlChars(s: string): boolean {
  return !NOT_CHAR.test(s);
}

/** True when the code point `cp` is an XML Char (used for character references like `&#1;`). */
export function isXmlCodePoint(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** True when `s` is an XML Name (element or attribute name, prefix included). */
export function isXmlName(s: string): boolean {
  return NAME.test(s);
}
