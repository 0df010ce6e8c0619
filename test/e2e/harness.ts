/**
 * What the browser tests share: Debian's Chromium driven by playwright-core, the SDK bundled for
 * a page, and an example app served by a Vite dev server whose `/api` proxy (the app's own
 * vite.config.ts) forwards to a real task-status backend from the testing kit.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { build } from 'esbuild';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from 'playwright-core';
import { createLogger, createServer, type Logger } from 'vite';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';

/** Debian's Chromium (`apt-get install -y chromium`); no test ever downloads a browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * As root in a sandbox without internet: no sandbox, no GPU, and none of Chromium's background
 * connections, which this machine's closed network would refuse many at a time.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** How a test file wants Chromium. */
export interface ChromiumOptions {
  /**
   * Keep the back/forward cache, which playwright turns off by default, so that going back
   * restores a page as a user's browser does.
   * @default false
   */
  readonly backForwardCache?: boolean;
}

/**
 * Launches headless Chromium. playwright's `launch()` gives every browser a fresh, empty
 * profile (user-data-dir) in a temporary directory and deletes it on `close()`.
 *
 * @throws {Error} naming the fix when Chromium is not installed.
 */
export async function launchChromium(options: ChromiumOptions = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `The e2e tests need Debian's Chromium at ${CHROMIUM_PATH}, which is missing. Install it with ` +
        '`apt-get install -y chromium` (as root); no test downloads a browser. To run the other ' +
        'tests only: `npx vitest run --project unit`.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    ...(options.backForwardCache ? { ignoreDefaultArgs: ['--disable-back-forward-cache'] } : {}),
  });
}

/**
 * The root entry as one browser script that sets the global `TaskStatus`, bundled the way a
 * browser app's bundler takes it (`isomorphic-ws` resolved to the browser's own `WebSocket`).
 */
export async function bundleSdk(): Promise<string> {
  const bundled = await build({
    entryPoints: [fileURLToPath(new URL('../../src/index.ts', import.meta.url))],
    bundle: true,
    format: 'iife',
    globalName: 'TaskStatus',
    platform: 'browser',
    alias: {
      'isomorphic-ws': fileURLToPath(new URL('../../src/transport/ws-browser.ts', import.meta.url)),
    },
    write: false,
    logLevel: 'silent',
  });
  return bundled.outputFiles[0]?.text ?? '';
}

/** Chromium and the SDK bundle, shared by the tests of one file. */
export interface ChromiumSetup {
  readonly browser: Browser;
  /** The script from {@link bundleSdk}. */
  readonly sdk: string;
  /** A page in a browser context of its own (made with `options`), closed after the test. */
  newPage(options?: BrowserContextOptions): Promise<Page>;
}

/**
 * Registers the hooks that start Chromium and bundle the SDK once for a test file, and close
 * the contexts of `newPage()` after each test.
 */
export function setupChromium(options: ChromiumOptions = {}): ChromiumSetup {
  let browser: Browser | undefined;
  let sdk = '';
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    sdk = await bundleSdk();
    browser = await launchChromium(options);
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    get browser() {
      if (browser === undefined) throw new Error('Chromium starts in beforeAll');
      return browser;
    },
    get sdk() {
      return sdk;
    },
    async newPage(contextOptions?: BrowserContextOptions) {
      const context = await this.browser.newContext(contextOptions);
      contexts.push(context);
      return context.newPage();
    },
  };
}

/** An example app on a Vite dev server. */
export interface ExampleApp {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** What Vite logged (proxy errors included). */
  readonly logs: readonly string[];
  close(): Promise<void>;
}

/** The example apps under `examples/`. */
export type ExampleName = 'react-vite' | 'vue-vite';

/**
 * Serves `examples/<name>` with its own vite.config.ts, whose `/api` proxy points at `backend`
 * (through the `TASK_STATUS_BACKEND` variable the config reads). Port 0, no HMR, no file
 * watcher, and a throwaway dependency cache, so runs leave nothing behind.
 */
export async function startExampleApp(name: ExampleName, backend: string): Promise<ExampleApp> {
  const root = fileURLToPath(new URL(`../../examples/${name}/`, import.meta.url));
  const cacheDir = await mkdtemp(path.join(tmpdir(), `task-status-e2e-${name}-`));
  const logs: string[] = [];
  Object.assign(process.env, { TASK_STATUS_BACKEND: backend });
  const server = await createServer({
    root,
    configFile: path.join(root, 'vite.config.ts'),
    cacheDir,
    clearScreen: false,
    customLogger: recordingLogger(logs),
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (typeof address !== 'object' || address === null) throw new Error('Vite is not listening');
  const { port } = address;
  return {
    url: `http://127.0.0.1:${port}/`,
    logs,
    async close() {
      await server.close();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

function recordingLogger(logs: string[]): Logger {
  const logger = createLogger('info', { allowClearScreen: false });
  // Vite colours its messages where picocolors sees colour support, as in CI: keep the text.
  const record = (message: string) => {
    logs.push(stripVTControlCharacters(message));
  };
  return { ...logger, info: record, warn: record, warnOnce: record, error: record };
}

/** Collects what the page printed and threw, for failure messages. */
export function recordPage(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (message) => lines.push(`console.${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => lines.push(`pageerror: ${error.message}`));
  return lines;
}

/** Waits until the element's text content is `text`. */
export async function waitForText(
  page: Page,
  selector: string,
  text: string,
  timeout = 15_000,
): Promise<void> {
  await page.waitForFunction(
    ([sel, expected]) => document.querySelector(sel as string)?.textContent?.trim() === expected,
    [selector, text],
    { timeout, polling: 50 },
  );
}

/** What {@link connectInPage} saw. */
export interface PageOutcome {
  /** How `connect()` ended: its error's code and message, or code `none` when it resolved. */
  rejected: { code: string; message: string };
  /** `client.state` once `connect()` settled and the updates and heartbeat asked for came. */
  state: string;
  errors: { code: string; closeCode: number | undefined; message: string }[];
  authErrors: { message: string | null; closeCode: number | undefined; willRetry: boolean }[];
  reconnecting: number;
  /** The first `updates` task updates, once open. */
  updates: { taskId: unknown; status: string; updatedAt: string | null }[];
  /** A heartbeat's round trip, when `options.heartbeat` is set and the client opened. */
  rttMs: number | undefined;
}

/** The client {@link connectInPage} makes: user 2, with these options. */
export interface PageClient {
  readonly baseUrl: string;
  readonly token: string;
  /** Further client options; JSON only, since they cross into the page. */
  readonly options: Record<string, unknown>;
  /** How many task updates to wait for once open. @default 0 */
  readonly updates?: number;
}

/**
 * Loads the SDK bundle into `page`, connects a client there, and reports how `connect()` ended,
 * what the client emitted, and, once open, the updates and heartbeat asked for. The client is
 * closed before this returns.
 */
export async function connectInPage(
  page: Page,
  sdk: string,
  setup: PageClient,
): Promise<PageOutcome> {
  await page.addScriptTag({ content: sdk });
  return page.evaluate(async ({ baseUrl, token, options, updates = 0 }) => {
    const { TaskStatusClient } = (
      window as unknown as { TaskStatus: typeof import('../../src/index.js') }
    ).TaskStatus;
    const client = new TaskStatusClient({ baseUrl, userId: 2, token, ...options });
    const { heartbeat } = options;
    const outcome: PageOutcome = {
      rejected: { code: 'none', message: '' },
      state: '',
      errors: [],
      authErrors: [],
      reconnecting: 0,
      updates: [],
      rttMs: undefined,
    };
    client.on('error', ({ code, closeCode, message }) =>
      outcome.errors.push({ code, closeCode, message }),
    );
    client.on('authError', ({ message, closeCode, willRetry }) =>
      outcome.authErrors.push({ message, closeCode, willRetry }),
    );
    client.on('reconnecting', () => outcome.reconnecting++);
    const beat = new Promise<number>((resolve) =>
      client.once('heartbeat', ({ rttMs }) => resolve(rttMs)),
    );
    try {
      await client.connect();
      if (updates > 0) {
        for await (const { taskId, status, updatedAt } of client.updates()) {
          outcome.updates.push({ taskId, status, updatedAt });
          if (outcome.updates.length === updates) break;
        }
      }
      if (heartbeat) outcome.rttMs = await beat;
    } catch (error) {
      const { code, message } = error as { code: string; message: string };
      outcome.rejected = { code, message };
    }
    outcome.state = client.state;
    await client.close();
    return outcome;
  }, setup);
}

/**
 * What a browser makes of upgrades refused before accept: `count` opaque `CONNECTION_ERROR`s,
 * each a close 1006 whose message says what it may hide, and none naming `token`.
 */
export function expectOpaqueRefusals(outcome: PageOutcome, count: number, token: string): void {
  const transient = outcome.errors.filter((error) => error.code === 'CONNECTION_ERROR');
  expect(transient).toHaveLength(count);
  for (const error of transient) {
    expect(error.closeCode).toBe(1006);
    expect(error.message).toContain('no reason given');
    expect(error.message).toContain('refused the path or the token');
    expect(error.message).not.toContain(token);
  }
}
