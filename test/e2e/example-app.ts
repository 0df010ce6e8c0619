/**
 * One browser scenario table run against each example app (React and Vue): the page talks to a
 * real task-status backend through the app's own Vite dev proxy, as a developer's browser does.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTaskStatusServer, type TaskStatusServer } from '../../src/testing/index.js';
import {
  type ExampleApp,
  type ExampleName,
  launchChromium,
  recordPage,
  startExampleApp,
  waitForText,
} from './harness.js';

const USER = 1;
const STATE = '[data-testid=state]';

export function describeExampleApp(name: ExampleName): void {
  describe(`examples/${name} in Chromium through the Vite dev proxy`, () => {
    let backend: TaskStatusServer;
    let app: ExampleApp;
    let browser: Browser;
    let context: BrowserContext | undefined;
    let pageLog: string[] = [];

    beforeAll(async () => {
      // Chromium first: when it is missing, fail before starting anything.
      browser = await launchChromium();
      backend = await startTaskStatusServer({ tokens: { 'demo-token': USER } });
      app = await startExampleApp(name, backend.url);
    });

    afterEach(async (test) => {
      if (test.task.result?.state === 'fail') {
        console.error([`page log (${name}):`, ...pageLog, 'vite log:', ...app.logs].join('\n'));
      }
      await context?.close();
      context = undefined;
      backend.reset();
    });

    afterAll(async () => {
      await browser?.close();
      await app?.close();
      await backend?.close();
    });

    /** A new page in a fresh context, with `localStorage` set before the app starts. */
    async function open(storage: Record<string, string> = {}): Promise<Page> {
      context = await browser.newContext();
      await context.addInitScript((items) => {
        for (const [key, value] of Object.entries(items)) localStorage.setItem(key, value);
        // Counts the task sockets the page creates, even one closed before the backend saw it.
        const Native = WebSocket;
        const opened: string[] = [];
        // Every text an alert has shown, however briefly.
        const alerts: string[] = [];
        new MutationObserver(() => {
          for (const alert of document.querySelectorAll('[role=alert]')) {
            alerts.push(alert.textContent ?? '');
          }
        }).observe(document, { subtree: true, childList: true, characterData: true });
        Object.assign(window, { taskSockets: opened, alerts });
        window.WebSocket = class extends Native {
          constructor(url: string | URL, protocols?: string | string[]) {
            super(url, protocols);
            if (String(url).includes('/ws/tasks/')) opened.push(String(url));
          }
        };
      }, storage);
      const page = await context.newPage();
      pageLog = recordPage(page);
      await page.goto(app.url);
      return page;
    }

    it('renders the updates the backend pushes, over one socket', async () => {
      const page = await open();
      await waitForText(page, STATE, 'open');
      backend.pushUpdate(USER, {
        taskId: 7,
        status: 'running',
        progress: 40,
        message: 'Rendering',
      });
      await page.waitForSelector('[data-task-id="7"][data-status="running"]');
      expect(await page.textContent('[data-task-id="7"]')).toContain('40%');
      backend.completeTask(USER, 7, { url: '/reports/7.pdf' });
      await page.waitForSelector('[data-task-id="7"][data-status="completed"]');
      expect(await page.textContent('[data-task-id="7"]')).toContain('100%');
      // The React app runs in StrictMode, which mounts the provider twice in development.
      expect(await taskSockets(page)).toBe(1);
      expect(backend.connections).toHaveLength(1);
    });

    it('shows the auth error when the backend refuses the token', async () => {
      const page = await open({ access_token: 'expired-token' });
      await page.waitForSelector('[data-testid=error][data-code=AUTH_FAILED]');
      await waitForText(page, STATE, 'closed');
      expect(await page.textContent('[data-testid=error]')).toContain('Please sign in again.');
      // The first refusal makes the client ask the token function again; the second is final.
      expect(backend.connections.map((connection) => connection.state)).toEqual([
        'rejected',
        'rejected',
      ]);
    });

    it('does not ask to sign in again while a refused token is refreshed', async () => {
      backend.rejectNextAuth('token_expired');
      const page = await open();
      await waitForText(page, STATE, 'open');
      expect(backend.connections.map((connection) => connection.state)).toEqual([
        'rejected',
        'open',
      ]);
      const shown = await page.evaluate(() => (window as unknown as { alerts: string[] }).alerts);
      // The refusal was shown, as an error the client is handling, not as a final one.
      expect(shown.join('\n')).toContain('AUTH_FAILED');
      expect(shown.join('\n')).not.toContain('Please sign in again');
    });

    it('comes back by itself after the backend is stopped and restarted', async () => {
      const page = await open();
      await waitForText(page, STATE, 'open');
      backend.pushUpdate(USER, { taskId: 1, status: 'running', progress: 10 });
      await page.waitForSelector('[data-task-id="1"][data-status="running"]');

      const restarted = backend.restart({ downtimeMs: 1_500 });
      await page.waitForFunction(
        (selector) => document.querySelector(selector)?.textContent !== 'open',
        STATE,
      );
      await restarted;
      await waitForText(page, STATE, 'open', 20_000);
      // The attempts while it was down went through the proxy and were refused there.
      expect(app.logs.join('\n')).toContain('ECONNREFUSED');
      backend.pushUpdate(USER, { taskId: 1, status: 'running', progress: 60 });
      await page.waitForFunction(
        () => document.querySelector('[data-task-id="1"]')?.textContent?.includes('60%'),
        undefined,
        { polling: 50 },
      );
      expect(backend.connections.filter((c) => c.state === 'open')).toHaveLength(1);
    });
  });
}

/** How many task sockets the page has created. */
function taskSockets(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { taskSockets: string[] }).taskSockets.length);
}
