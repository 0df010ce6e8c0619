import { describe, expect, it } from 'vitest';
import { maskToken, tokenForms } from '../src/url.js';

describe('maskToken', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIyIn0.c2lnbmF0dXJl';

  it('masks a cut-off start of the token, 12 characters or more, and leaves shorter ones', () => {
    const forms = tokenForms(jwt);
    expect(maskToken(`bad ${jwt.slice(0, 30)}`, forms)).toBe('bad ***');
    expect(maskToken(`bad ${jwt.slice(0, 11)}`, forms)).toBe(`bad ${jwt.slice(0, 11)}`);
  });

  it('masks every one of many cut-off starts in a large text, in one pass each', () => {
    // A JWT's start is its header, which every token of one issuer shares: a server message can
    // hold it thousands of times.
    const piece = `${jwt.slice(0, 14)} `;
    const text = piece.repeat(50_000);
    expect(maskToken(text, tokenForms(jwt))).toBe('*** '.repeat(50_000));
  });
});
