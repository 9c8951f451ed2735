import { describe, expect, it } from 'vitest';
import { redact } from '../../src/redact';

describe('redact', () => {
  it('removes the given secrets wherever they appear, and anything shaped like a JWT', () => {
    // Prepare
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwaWxvdCJ9.c2lnbmF0dXJlLXZhbHVl';
    const text = `user pilot@example.com sent key K3y-Val and K3y-Val again with Bearer ${jwt}`;

    // Act
    const result = redact(text, ['K3y-Val', 'pilot@example.com', undefined]);

    // Assess
    expect(result).toBe('user [redacted] sent key [redacted] and [redacted] again with Bearer [redacted JWT]');
  });

  it('leaves short values alone so that ordinary words survive', () => {
    // Prepare
    const text = 'a short id';

    // Act
    const result = redact(text, ['a', 'id']);

    // Assess
    expect(result).toBe(text);
  });
});
