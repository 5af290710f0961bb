import type { Element } from './element.ts';
import { StreamError } from './errors.ts';
import { StreamParser, type ParserLimits } from './stream-parser.ts';

/**
 * Parses one RFC 7395 WebSocket text frame, which must hold exactly one element
 * (whitespace around it is allowed). Throws a StreamError: 'not-well-formed' (bad XML,
 * invalid characters, zero or several elements, text outside the element), 'restricted-xml'
 * (comments, PIs, DTDs; the XML declaration too, as frames carry none), 'bad-namespace-prefix'
 * (a prefix the frame does not bind: there is no stream header to bind it), or
 * 'policy-violation' (frame longer than maxStanzaBytes UTF-16 code units, or nesting deeper
 * than maxDepth, the frame's element being depth 1). Same tokenizer as StreamParser.
 */
export function parseFrame(text: string, limits: ParserLimits): Element {
  // Bounds the whole frame, not only its element: whitespace around it is otherwise free.
  if (text.length > limits.maxStanzaBytes) throw new StreamError('policy-violation', 'frame too large');
  const parser = new StreamParser(limits, { fragment: true });
  const found: Element[] = [];
  let error: StreamError | undefined;
  parser.on('stanza', (el) => {
    if (found.push(el) > 1) parser.stop();
  });
  parser.on('error', (err) => (error = err));
  parser.write(text);
  parser.end();
  if (error) throw error;
  if (found.length !== 1) throw new StreamError('not-well-formed', found.length ? 'more than one element in a frame' : 'empty frame');
  return found[0]!;
}
