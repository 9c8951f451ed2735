import { closest, distance } from 'fastest-levenshtein';

/** The closest candidate to a mistyped word, if it is close enough to be what was meant. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (word === '' || candidates.length === 0) return undefined;
  const best = closest(word, [...candidates]);
  const prefixOf = best.startsWith(word) && word.length >= 3;
  return prefixOf || distance(word, best) <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}
