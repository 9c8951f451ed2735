import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, fullJitterDelay, parseRetryAfter } from '../../src/pix4d/backoff';

describe('fullJitterDelay', () => {
  it('draws between 0 and a ceiling that doubles with each failure, up to the cap', () => {
    // Prepare
    const policy = { ...DEFAULT_BACKOFF, baseDelayMs: 100, maxDelayMs: 1_000 };

    // Act
    const ceilings = [1, 2, 3, 4, 5, 6].map((failures) => fullJitterDelay(failures, policy, () => 0.999_999));
    const floors = [1, 2, 3].map((failures) => fullJitterDelay(failures, policy, () => 0));

    // Assess
    expect(ceilings).toEqual([99, 199, 399, 799, 999, 999]);
    expect(floors).toEqual([0, 0, 0]);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds, fractional seconds and HTTP dates, and ignores absent or bad values', () => {
    // Prepare
    const now = Date.parse('2026-11-28T10:00:00Z');

    // Act
    const values = [
      parseRetryAfter('3', now),
      parseRetryAfter(' 1.5 ', now),
      parseRetryAfter('Sat, 28 Nov 2026 10:00:07 GMT', now),
      parseRetryAfter('Sat, 28 Nov 2026 09:00:00 GMT', now),
      parseRetryAfter('soon', now),
      parseRetryAfter(null, now),
    ];

    // Assess
    expect(values).toEqual([3_000, 1_500, 7_000, 0, undefined, undefined]);
  });
});
