/**
 * The canonical URL in real Chromium, against the same call in Node: a base URL gives the same
 * socket URL in both, or the same `INVALID_OPTIONS`. Chromium's URL parser is laxer than the URL
 * standard in places (it lets a space into a host name as `%20`), and a base that Node refuses
 * must not become, in a browser, a URL the client retries until it gives up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildTaskStatusUrl, isTaskStatusError } from '../../src/index.js';
import { setupChromium } from './harness.js';

const chromium = setupChromium();
let page: import('playwright-core').Page | undefined;

afterEach(async () => {
  await page?.close();
  page = undefined;
});

const BASES = [
  'https://api.example.com',
  'https://api.example.com/api/v1/',
  'HTTP://API.Example.COM:8000/svc',
  'wss://[::1]:9000',
  'https://bücher.example',
  '  https://api.example.com  ',
  'https://api.example .com',
  'wss://api example.com/api/v1',
  'https://api.example.com/my app',
  'https://exa%20mple.com',
  'https://a<b.com',
  'ftp://api.example.com',
];

/** The socket URL for `baseUrl`, or the error code and message it throws. */
type Built = { url: string } | { code: string; message: string };

function buildInNode(baseUrl: string): Built {
  try {
    return { url: buildTaskStatusUrl({ baseUrl, userId: 2, token: 'secret-token' }) };
  } catch (error) {
    if (!isTaskStatusError(error)) throw error;
    return { code: error.code, message: error.message };
  }
}

describe('buildTaskStatusUrl in Chromium', () => {
  it('gives the same URL, or the same INVALID_OPTIONS, as in Node for every base', async () => {
    page = await chromium.browser.newPage();
    await page.addScriptTag({ content: chromium.sdk });
    const inChromium = await page.evaluate((bases) => {
      const { buildTaskStatusUrl } = (
        window as unknown as { TaskStatus: typeof import('../../src/index.js') }
      ).TaskStatus;
      return bases.map((baseUrl): Built => {
        try {
          return { url: buildTaskStatusUrl({ baseUrl, userId: 2, token: 'secret-token' }) };
        } catch (error) {
          const { code, message } = error as { code: string; message: string };
          return { code, message };
        }
      });
    }, BASES);

    expect(inChromium).toEqual(BASES.map(buildInNode));
    expect(buildInNode('https://api.example .com')).toMatchObject({ code: 'INVALID_OPTIONS' });
  });
});
