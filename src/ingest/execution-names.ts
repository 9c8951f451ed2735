import { createHash } from 'node:crypto';

/** Step Functions execution names: at most 80 characters of `[A-Za-z0-9_-]`, unique per state machine for 90 days. */
const MAX_NAME_LENGTH = 80;
const HASH_LENGTH = 24;

/**
 * A deterministic execution name: the same inputs always give the same name, so that a repeated start of the same
 * work is refused by Step Functions instead of running twice. A readable slug of the batch folder comes first, for
 * people scanning the console; the hash of every part makes the name unique.
 */
export function executionName(kind: 'm' | 'q' | 'w', batchPrefix: string, ...discriminators: string[]): string {
  const hash = createHash('sha256')
    .update([batchPrefix, ...discriminators].join('\u0000'))
    .digest('hex')
    .slice(0, HASH_LENGTH);
  const room = MAX_NAME_LENGTH - kind.length - hash.length - 2;
  const slug = batchPrefix
    .normalize('NFKD')
    // The accents NFKD splits off are dropped, so "été" reads "ete".
    .replace(/\p{M}/gu, '')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, room)
    .replace(/-+$/, '');
  return [kind, slug, hash].filter(Boolean).join('-');
}
