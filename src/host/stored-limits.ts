import type { Config } from '../config/types.ts';

/**
 * Parser limits for stanzas the server stored itself (offline messages, subscription requests):
 * accepted under `limits`, plus room for the stamps added on storing. Read from the config at
 * each parse, so a reload that raises the limits still reads what was stored under them.
 */
export function storedStanzaLimits(config: Config): { maxStanzaBytes: number; maxDepth: number } {
  return { maxStanzaBytes: config.limits.maxStanzaBytes + 4096, maxDepth: config.limits.maxDepth + 2 };
}
