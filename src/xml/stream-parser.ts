import { EventEmitter } from 'node:events';
import { Element } from './element.ts';
import { StreamError, type StreamErrorCondition } from './errors.ts';
import { isXmlChars, isXmlCodePoint, isXmlName } from './chars.ts';

export interface ParserLimits {
  maxStanzaBytes: number;
  maxDepth: number;
}

export interface StreamParserEvents {
  streamStart: [el: Element];
  stanza: [el: Element];
  streamEnd: [];
  error: [err: StreamError];
}

/** Internal failure carrier, so a StreamError thrown by a listener is not mistaken for ours. */
class Abort {
  constructor(readonly error: StreamError) {}
}
const abort = (condition: StreamErrorCondition, text: string): Abort => new Abort(new StreamError(condition, text));

// Tokenizer states.
const TEXT = 0; // character data
const LT = 1; // after '<'
const BANG = 2; // after '<!'
const CDATA = 3; // inside <![CDATA[
const DECL = 4; // inside '<?' at the very start of the stream
const START_NAME = 5;
const TAG = 6; // inside a start tag, between attributes
const ATTR_NAME = 7;
const ATTR_EQ = 8; // after an attribute name, expecting '='
const ATTR_QUOTE = 9; // after '=', expecting a quote
const ATTR_VALUE = 10;
const SELF_CLOSE = 11; // after '/' in a start tag
const END_NAME = 12;
const END_TAIL = 13; // after an end tag name, expecting '>'

const isWs = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
const ONLY_WS = /^[ \t\r\n]*$/;
const QNAME = /^[^:]+(?::[^:]+)?$/;
const XML_DECL =
  /^xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(['"])1\.[0-9]+\1(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(['"])([A-Za-z][A-Za-z0-9._-]*)\2)?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(['"])(?:yes|no)\4)?[ \t\r\n]*$/;
const REF = /&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+))?(;)?/g;
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

// ASCII characters allowed in names; names stop at any other ASCII character and are then
// validated whole (non-ASCII is left to isXmlName).
const NAME_ASCII = new Uint8Array(128);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_.-') NAME_ASCII[ch.charCodeAt(0)] = 1;
function nameEnd(data: string, pos: number, end: number): number {
  while (pos < end) {
    const c = data.charCodeAt(pos);
    if (c < 128 && !NAME_ASCII[c]) break;
    pos++;
  }
  return pos;
}

/** Expands the predefined entities and character references; anything else is not well-formed. */
function decodeRefs(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(REF, (_m, named: string | undefined, dec: string | undefined, hex: string | undefined, semi: string | undefined) => {
    if (!semi || (named ?? dec ?? hex) === undefined) throw abort('not-well-formed', 'undefined entity or bare &');
    if (named) return PREDEFINED[named]!;
    const cp = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
    if (!isXmlCodePoint(cp)) throw abort('not-well-formed', 'character reference to a non-XML character');
    return String.fromCodePoint(cp);
  });
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/**
 * The `xmlns:p` declarations of a start tag (null when none), checked against Namespaces in
 * XML 1.0 section 3: no undeclaring (`xmlns:p=''`), `xml` only for its own namespace, never
 * `xmlns` or the xmlns namespace.
 */
function declarations(attrs: Record<string, string>): Map<string, string> | null {
  let found: Map<string, string> | null = null;
  for (const name in attrs) {
    if (!name.startsWith('xmlns:')) continue;
    const prefix = name.slice(6);
    const uri = attrs[name]!;
    if (uri === '') throw abort('bad-namespace-prefix', `the prefix ${prefix} cannot be undeclared`);
    if (prefix === 'xmlns' || uri === XMLNS_NS || (prefix === 'xml') !== (uri === XML_NS)) {
      throw abort('bad-namespace-prefix', `reserved prefix or namespace in ${name}`);
    }
    (found ??= new Map()).set(prefix, uri);
  }
  return found;
}

function checkName(name: string): string {
  if (!isXmlName(name) || !QNAME.test(name)) throw abort('not-well-formed', 'invalid name');
  return name;
}

/**
 * A strict, incremental, linear-time XML reader for XMPP streams (RFC 6120 section 11).
 *
 * Not built on ltx's parser on purpose: ltx throws out of write() on bad entities, accepts
 * control characters, unquoted attributes and bare `&`, silently skips comments/PIs/DOCTYPE,
 * and re-copies its unparsed remainder on every write (quadratic under small TCP reads).
 * Here every input character is looked at a bounded number of times, unfinished tokens
 * are kept as slices, and the only input carried between writes is a lookahead tail of
 * at most 7 characters.
 *
 * Events (a typed node:events EventEmitter, so attach an 'error' listener):
 * - `streamStart(el)`: the root `<stream:stream ...>` start tag (no children; the caller
 *   checks its name and namespaces).
 * - `stanza(el)`: each complete child of the root. `el.parent` is null, so `el.toString()`
 *   is just the stanza. The stanza keeps only its own attributes: a stanza without xmlns is
 *   in the stream's default namespace (`streamStart` el.attrs.xmlns), and prefixes such as
 *   `stream:` are declared on the root, not on the stanza.
 * - `streamEnd()`: `</stream:stream>`; later input is ignored.
 * - `error(err)`: once, for the first problem; later input is ignored.
 *
 * Listeners run synchronously inside write(). If a listener throws, the exception leaves
 * write() and the parser ignores all further input.
 *
 * Sizes are counted in UTF-16 code units (= bytes for ASCII; at most 3 UTF-8 bytes per
 * unit otherwise). A stanza is counted from its `<` to its closing `>`; whitespace between
 * stanzas is discarded and not counted. The stream header (XML declaration included) is
 * counted from the start of input. Depth: the stanza itself is depth 1.
 *
 * Namespace prefixes: every prefixed element or attribute name must be bound (by the element,
 * an ancestor or the stream header; `xml:` always is), else `bad-namespace-prefix` (RFC 6120
 * 4.9.3.2), so an unbound prefix is never relayed. A prefix that only the stream header binds
 * is declared again (`xmlns:p`) on the element that uses it, so detached stanzas and their
 * copied children still serialize as namespace-well-formed XML.
 */
export class StreamParser extends EventEmitter<StreamParserEvents> {
  private readonly fragment: boolean;
  private done = false;
  private state = TEXT;
  /** Unconsumed lookahead (at most 7 chars) kept for the next write. */
  private carry = '';
  /** Code units received so far. */
  private total = 0;
  /** Offset where the size-limited unit (header or stanza) began; -1 when none is open. */
  private unitStart: number;
  /** The token (text, CDATA, name, attribute value) read so far. */
  private acc = '';
  private stack: Element[] = [];
  /** The prefixes each open element declares (null: none), parallel to `stack`. */
  private scopes: (Map<string, string> | null)[] = [];
  private name = '';
  private attrs: Record<string, string> = {};
  private attrName = '';
  private quote = 0;
  private wsSeen = false;

  /**
   * @param opts.fragment internal (parseFrame): no root element; every top-level element
   *   is emitted as `stanza` and is depth 1.
   */
  constructor(
    private readonly limits: ParserLimits,
    opts: { fragment?: boolean } = {},
  ) {
    super();
    this.fragment = opts.fragment ?? false;
    this.unitStart = this.fragment ? -1 : 0;
  }

  /** Feeds decoded text. Never throws for bad input: problems are reported via 'error'. */
  write(chunk: string): void {
    if (this.done) return;
    if (this.total === 0 && chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1); // byte order mark
    const data = this.carry + chunk;
    const base = this.total - this.carry.length;
    this.total += chunk.length;
    this.carry = '';
    // Never scan half of a surrogate pair: keep a trailing high surrogate for the next write.
    const last = data.charCodeAt(data.length - 1);
    const end = last >= 0xd800 && last <= 0xdbff ? data.length - 1 : data.length;
    try {
      const pos = this.run(data, end, base);
      if (!this.done) this.carry = data.slice(pos);
    } catch (e) {
      if (!(e instanceof Abort)) {
        this.done = true;
        throw e;
      }
      this.fail(e.error);
    }
  }

  /** No more input: anything unfinished (other than an open stream) is not well-formed. */
  end(): void {
    if (this.done) return;
    if (this.state !== TEXT || this.carry || this.stack.length > (this.fragment ? 0 : 1)) {
      this.fail(new StreamError('not-well-formed', 'unexpected end of input'));
    }
    this.done = true;
  }

  /**
   * Ignores the rest of the current chunk and all later input. Call it from a stanza
   * listener when the stream restarts (STARTTLS, SASL success) so pipelined bytes are not
   * processed as part of the old stream.
   */
  stop(): void {
    this.done = true;
  }

  private fail(err: StreamError): void {
    if (this.done) return;
    this.done = true;
    this.stack = [];
    this.scopes = [];
    this.acc = '';
    this.emit('error', err);
  }

  /** Consumes data[0, end) as far as possible; returns the position of the first unconsumed char. */
  private run(data: string, end: number, base: number): number {
    let pos = 0;
    loop: while (!this.done) {
      this.checkSize(base + pos);
      if (pos >= end) break;
      const c = data.charCodeAt(pos);
      switch (this.state) {
        case TEXT: {
          let lt = data.indexOf('<', pos);
          if (lt < 0) lt = end;
          if (lt > pos) this.text(data.slice(pos, lt));
          pos = lt;
          if (pos < end) {
            this.flushText();
            // A stanza is counted from its '<'; the header budget runs from the start of input.
            if (this.atTop() && (this.fragment || this.stack.length > 0)) this.unitStart = base + pos;
            this.state = LT;
            pos++;
          }
          break;
        }
        case LT:
          if (c === 0x2f /* / */) {
            this.state = END_NAME;
            pos++;
          } else if (c === 0x21 /* ! */) {
            this.state = BANG;
            pos++;
          } else if (c === 0x3f /* ? */) {
            // Only the XML declaration, and only as the very first thing in the stream.
            if (this.fragment || base + pos !== 1) throw abort('restricted-xml', 'processing instructions are not allowed');
            this.state = DECL;
            pos++;
          } else {
            this.state = START_NAME;
          }
          break;
        case BANG: {
          // '<![CDATA[' is the only allowed '<!' construct; '<!--', '<!DOCTYPE' etc. are restricted.
          if (c !== 0x5b /* [ */) throw abort('restricted-xml', 'comments and DTDs are not allowed');
          const look = data.slice(pos, Math.min(end, pos + 7));
          if (look !== '[CDATA[') {
            if (look.length < 7 && '[CDATA['.startsWith(look)) break loop; // wait for more input
            throw abort('not-well-formed', 'invalid markup');
          }
          if (this.atTop()) throw this.topLevelText();
          this.state = CDATA;
          pos += 7;
          break;
        }
        case CDATA: {
          const [stop, found] = this.scanTo(data, pos, end, ']]>');
          this.acc += this.checkChars(data.slice(pos, stop));
          pos = stop;
          if (!found) break loop;
          this.appendText(this.acc.replace(/\r\n?/g, '\n'));
          this.acc = '';
          this.state = TEXT;
          pos += 3;
          break;
        }
        case DECL: {
          const [stop, found] = this.scanTo(data, pos, end, '?>');
          this.acc += data.slice(pos, stop);
          pos = stop;
          if (!found) break loop;
          this.xmlDecl(this.acc);
          this.acc = '';
          this.state = TEXT;
          pos += 2;
          break;
        }
        case START_NAME:
        case ATTR_NAME:
        case END_NAME: {
          const stop = nameEnd(data, pos, end);
          this.acc += data.slice(pos, stop);
          pos = stop;
          if (pos === end) break;
          const name = checkName(this.acc);
          this.acc = '';
          if (this.state === START_NAME) {
            this.name = name;
            this.attrs = {};
            this.wsSeen = false;
            this.state = TAG;
          } else if (this.state === ATTR_NAME) {
            if (Object.hasOwn(this.attrs, name)) throw abort('not-well-formed', `duplicate attribute ${name}`);
            this.attrName = name;
            this.state = ATTR_EQ;
          } else {
            this.name = name;
            this.state = END_TAIL;
          }
          break;
        }
        case TAG:
          if (isWs(c)) this.wsSeen = true;
          else if (c === 0x3e /* > */) this.open(false);
          else if (c === 0x2f /* / */) this.state = SELF_CLOSE;
          else if (this.wsSeen) {
            this.state = ATTR_NAME;
            break; // re-read c as the first character of the name
          } else throw abort('not-well-formed', 'malformed start tag');
          pos++;
          break;
        case ATTR_EQ:
        case ATTR_QUOTE:
        case END_TAIL:
          if (isWs(c)) {
            pos++;
            break;
          }
          if (this.state === ATTR_EQ && c === 0x3d /* = */) this.state = ATTR_QUOTE;
          else if (this.state === ATTR_QUOTE && (c === 0x22 || c === 0x27)) {
            this.quote = c;
            this.state = ATTR_VALUE;
          } else if (this.state === END_TAIL && c === 0x3e) this.close(this.name);
          else throw abort('not-well-formed', 'malformed tag');
          pos++;
          break;
        case ATTR_VALUE: {
          let q = data.indexOf(this.quote === 0x22 ? '"' : "'", pos);
          if (q < 0) q = end;
          const piece = data.slice(pos, q);
          if (piece.includes('<')) throw abort('not-well-formed', "'<' in attribute value");
          this.acc += this.checkChars(piece);
          pos = q;
          if (pos === end) break;
          // Attribute-value normalization (XML 1.0 section 3.3.3): literal whitespace becomes a space.
          this.attrs[this.attrName] = decodeRefs(this.acc.replace(/\r\n|[\r\n\t]/g, ' '));
          this.acc = '';
          this.wsSeen = false;
          this.state = TAG;
          pos++;
          break;
        }
        case SELF_CLOSE:
          if (c !== 0x3e) throw abort('not-well-formed', "expected '>' after '/'");
          this.open(true);
          pos++;
          break;
      }
    }
    if (!this.done) this.checkSize(base + pos);
    return pos;
  }

  /** Called with the offset of the next unread char: a unit still open after max units is too large. */
  private checkSize(offset: number): void {
    if (this.unitStart >= 0 && offset - this.unitStart >= this.limits.maxStanzaBytes) {
      throw abort('policy-violation', this.stack.length === 0 && !this.fragment ? 'stream header too large' : 'stanza too large');
    }
  }

  /**
   * Finds `term` from pos. Returns [index, true] when found; otherwise [stop, false] where
   * data[stop, end) is a possible start of `term` that must be kept for the next write.
   */
  private scanTo(data: string, pos: number, end: number, term: string): [number, boolean] {
    const i = data.indexOf(term, pos);
    if (i >= 0 && i + term.length <= end) return [i, true];
    let k = Math.min(term.length - 1, end - pos);
    while (k > 0 && !data.startsWith(term.slice(0, k), end - k)) k--;
    return [end - k, false];
  }

  private checkChars(s: string): string {
    if (!isXmlChars(s)) throw abort('not-well-formed', 'invalid XML character');
    return s;
  }

  /** Between stanzas (or outside any element): only whitespace is allowed there. */
  private atTop(): boolean {
    return this.stack.length <= (this.fragment ? 0 : 1);
  }

  private topLevelText(): Abort {
    // Text directly inside <stream:stream> is well-formed XML but not XMPP.
    return this.stack.length === 0
      ? abort('not-well-formed', 'text outside of an element')
      : abort('bad-format', 'text between stanzas');
  }

  private text(piece: string): void {
    if (this.atTop()) {
      // Keepalive whitespace is dropped, not buffered.
      if (!ONLY_WS.test(piece)) throw this.topLevelText();
      return;
    }
    this.acc += this.checkChars(piece);
  }

  private flushText(): void {
    if (!this.acc) return;
    const raw = this.acc;
    this.acc = '';
    if (raw.includes(']]>')) throw abort('not-well-formed', "']]>' in text");
    this.appendText(decodeRefs(raw.replace(/\r\n?/g, '\n')));
  }

  private appendText(s: string): void {
    if (!s) return;
    const children = this.stack[this.stack.length - 1]!.children;
    const n = children.length;
    if (n > 0 && typeof children[n - 1] === 'string') children[n - 1] += s;
    else children.push(s);
  }

  private xmlDecl(body: string): void {
    const m = XML_DECL.exec(body);
    if (!m) {
      if (/^xml(?:[ \t\r\n]|$)/.test(body)) throw abort('not-well-formed', 'malformed XML declaration');
      throw abort('restricted-xml', 'processing instructions are not allowed');
    }
    if (m[3] !== undefined && m[3].toLowerCase() !== 'utf-8') throw abort('unsupported-encoding', 'only UTF-8 is supported');
  }

  private open(selfClosing: boolean): void {
    let own = declarations(this.attrs);
    const names = Object.keys(this.attrs);
    for (let i = -1; i < names.length; i++) {
      const inherited = this.checkPrefix(i < 0 ? this.name : names[i]!, own, i >= 0);
      if (!inherited) continue;
      // Bound only by the stream header: declared again here, so the detached stanza (or a
      // child that a service copies into a stanza of its own) still carries its binding.
      this.attrs[`xmlns:${inherited[0]}`] = inherited[1];
      (own ??= new Map()).set(inherited[0], inherited[1]);
    }
    const el = new Element(this.name, this.attrs);
    this.attrs = {};
    this.state = TEXT;
    const depth = this.stack.length + (this.fragment ? 1 : 0);
    if (depth > this.limits.maxDepth) throw abort('policy-violation', 'too deeply nested');
    // Stanzas stay detached from the root so they serialize on their own.
    if (!this.atTop()) this.stack[this.stack.length - 1]!.cnode(el);
    this.stack.push(el);
    this.scopes.push(own);
    if (this.stack.length === 1 && !this.fragment) {
      this.unitStart = -1;
      this.emit('streamStart', el);
    }
    if (selfClosing) this.close(this.name);
  }

  /**
   * A prefixed name (element or attribute) must have its prefix bound; `own`: the tag's
   * declarations. Returns [prefix, namespace] when only the stream header binds it.
   */
  private checkPrefix(qname: string, own: Map<string, string> | null, isAttr: boolean): [string, string] | null {
    const colon = qname.indexOf(':');
    if (colon < 0) return null;
    const prefix = qname.slice(0, colon);
    if (prefix === 'xml') return null;
    if (prefix === 'xmlns') {
      if (isAttr) return null; // a declaration, checked by declarations()
      throw abort('bad-namespace-prefix', 'the xmlns prefix is reserved');
    }
    if (own?.has(prefix)) return null;
    for (let d = this.scopes.length - 1; d >= 0; d--) {
      const uri = this.scopes[d]?.get(prefix);
      if (uri === undefined) continue;
      return d === 0 && !this.fragment ? [prefix, uri] : null;
    }
    throw abort('bad-namespace-prefix', `unbound namespace prefix ${prefix}`);
  }

  private close(name: string): void {
    const el = this.stack.pop();
    if (!el) throw abort('not-well-formed', `unexpected end tag ${name}`);
    this.scopes.pop();
    if (el.name !== name) throw abort('not-well-formed', `end tag ${name} does not match ${el.name}`);
    this.state = TEXT;
    if (this.stack.length === 0 && !this.fragment) {
      this.done = true;
      this.emit('streamEnd');
    } else if (this.atTop()) {
      this.unitStart = -1;
      this.emit('stanza', el);
    }
  }
}
