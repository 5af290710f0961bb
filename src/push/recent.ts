/**
 * Whether `id` is in `list`. A plain `===` loop: `Array.prototype.includes` (SameValueZero) is
 * several times slower on strings, and this runs for every member of a room on every message.
 */
export function seenRecently(list: readonly string[], id: string): boolean {
  for (let i = list.length - 1; i >= 0; i--) if (list[i] === id) return true;
  return false;
}
