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

describe('maskToken and a token with characters URLs encode past its 12th', () => {
  const token = 'Zm9vYmFyYmF6cXV4/cXV1eA+c2VjcmV0LXRhaWw=';
  const forms = tokenForms(token);

  it.each([
    ['raw', token],
    ["as Python's quote writes it", encodeURIComponent(token).replaceAll('%2F', '/')],
    ['JSON with / escaped', token.replaceAll('/', '\\/')],
    ['percent-encoded', encodeURIComponent(token)],
  ])('masks a cut-off start of it, %s', (_what, form) => {
    expect(maskToken(`bad ${form.slice(0, 30)} end`, forms)).toBe('bad *** end');
  });

  it('masks overlapping and adjacent matches as one run', () => {
    expect(maskToken(`${token}${token} and ${token.slice(0, 20)}`, forms)).toBe('*** and ***');
  });
});

describe('tokenForms', () => {
  it('gives the raw and JSON forms of a token that cannot go in a URL, without throwing', () => {
    expect(tokenForms('tok-\uD800-secret')).toContain('tok-\uD800-secret');
  });
});
