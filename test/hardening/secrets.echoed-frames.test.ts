/**
 * A server that echoes the token inside a bad frame must not get it into the error the client
 * reports, wherever in the frame it sits: in any field, or across the point where the client
 * shortens the frame or the server's message for the error.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskStatusClient, type TaskStatusError } from '../../src/index.js';
import { rejection } from '../helpers/events.js';
import { type FakeSocket, fakeWebSocket } from './helpers/fake-socket.js';
import { asciiJson, leaksIn, recordEvents, render, TOKEN } from './helpers/secrets.js';

const clients: TaskStatusClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

/** A client on a socket double; `accepted` decides whether the verdict (an ack) is already in. */
async function start(accepted: boolean, token = TOKEN) {
  const fake = fakeWebSocket();
  const client = new TaskStatusClient({
    baseUrl: 'http://127.0.0.1:9',
    userId: 2,
    token,
    WebSocket: fake.WebSocket,
    authGraceMs: accepted ? 0 : 60_000,
    heartbeat: false,
    reconnect: false,
  });
  clients.push(client);
  const events = recordEvents(client);
  const connecting = client.connect();
  const socket = fake.sockets[0] as FakeSocket;
  socket.open();
  if (accepted) {
    socket.receive('{"type":"connected"}');
    await connecting;
    await socket.handled();
  }
  return { client, events, socket, connecting };
}

function reported(events: unknown[][]): TaskStatusError[] {
  return events.filter(([name]) => name === 'error').map(([, error]) => error as TaskStatusError);
}

function leaksOf(shown: unknown[], token = TOKEN): string[] {
  return leaksIn(shown.map((value) => render(value)).join('\n'), token);
}

/** A frame whose first 200 characters (what an error quotes) end 10 characters into the token. */
function acrossFrameCut(before: string, after: string): string {
  return before + 'x'.repeat(190 - before.length) + TOKEN + after;
}

/** A frame whose message's first 500 characters end 10 characters into the token. */
function acrossMessageCut(before: string, after: string): string {
  return `${before}${'x'.repeat(490)}${TOKEN}${after}`;
}

const AFTER_VERDICT: [string, string, string][] = [
  [
    'unknown type, token whole in a short frame',
    JSON.stringify({ type: 'echo', raw: TOKEN }),
    'UNKNOWN_FRAME',
  ],
  [
    'invalid task_update, token whole in a short frame',
    JSON.stringify({ type: 'task_update', task_id: -1, status: 's', message: TOKEN }),
    'PROTOCOL_ERROR',
  ],
  // V8 quotes the start of the text in its own message, cut after a few characters.
  ['malformed JSON, token quoted by the JSON.parse message', `{"a":${TOKEN}}`, 'PROTOCOL_ERROR'],
  [
    'malformed JSON, token across the 200-character cut',
    acrossFrameCut('{', 'x'.repeat(50)),
    'PROTOCOL_ERROR',
  ],
  [
    'invalid task_update, token across the 200-character cut',
    acrossFrameCut('{"type":"task_update","task_id":-1,"status":"s","message":"', '"}'),
    'PROTOCOL_ERROR',
  ],
  [
    'unknown type, token across the 200-character cut',
    acrossFrameCut('{"type":"echo","query":"', '"}'),
    'UNKNOWN_FRAME',
  ],
  ['unknown type that is the token', JSON.stringify({ type: TOKEN }), 'UNKNOWN_FRAME'],
  [
    'server error whose message crosses the 500-character cut',
    acrossMessageCut('{"type":"error","code":"boom","message":"', '"}'),
    'SERVER_ERROR',
  ],
  [
    'server error whose code is the token',
    JSON.stringify({ type: 'error', code: TOKEN, message: 'm' }),
    'SERVER_ERROR',
  ],
];

const BEFORE_VERDICT: [string, string][] = [
  [
    'auth error naming the token in a short message',
    JSON.stringify({ type: 'error', code: 'auth_failed', message: `bad ${TOKEN}` }),
  ],
  [
    'auth error whose message crosses the 500-character cut',
    acrossMessageCut('{"type":"error","code":"auth_failed","message":"', '"}'),
  ],
  ['plain-text auth error that crosses the 500-character cut', acrossMessageCut('', ' rejected')],
  [
    'auth error whose code is the token',
    JSON.stringify({ type: 'error', code: TOKEN, message: 'no' }),
  ],
  [
    'FastAPI-style {"detail"} refusal that crosses the 500-character cut',
    acrossMessageCut('{"detail":"', '"}'),
  ],
];

describe('a token echoed in a bad frame', () => {
  it.each(AFTER_VERDICT)('stays out of the error for: %s', async (_what, frame, code) => {
    const { events, socket } = await start(true);
    socket.receive(frame);
    await socket.handled();
    const errors = reported(events);
    expect(errors.map((error) => error.code)).toEqual([code]);
    expect(leaksOf(errors)).toEqual([]);
  });

  it.each(BEFORE_VERDICT)('stays out of the auth failure for: %s', async (_what, frame) => {
    const { events, socket, connecting } = await start(false);
    socket.receive(frame);
    socket.drop(1008, 'policy violation');
    const thrown = await rejection(connecting);
    expect(thrown.code).toBe('AUTH_FAILED');
    expect(leaksOf([...events, thrown])).toEqual([]);
  });

  it('stays out of every error wherever it sits in a frame of any length', async () => {
    const shapes = [
      (pad: string) => `{${pad}${TOKEN}`,
      (pad: string) =>
        JSON.stringify({ type: 'task_update', task_id: -1, status: 's', message: pad + TOKEN }),
      (pad: string) => JSON.stringify({ type: 'echo', pad, query: `?token=${TOKEN}`, raw: TOKEN }),
      (pad: string) => JSON.stringify({ type: 'error', code: 'boom', message: pad + TOKEN }),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...shapes.keys()),
        fc.integer({ min: 0, max: 700 }),
        async (shape, padding) => {
          const { events, socket } = await start(true);
          socket.receive((shapes[shape] as (pad: string) => string)('y'.repeat(padding)));
          await socket.handled();
          const errors = reported(events);
          expect(errors).toHaveLength(1);
          expect(leaksOf(errors)).toEqual([]);
          await Promise.all(clients.splice(0).map((client) => client.close()));
        },
      ),
      { numRuns: 300 },
    );
  });

  // Python's `json.dumps` (FastAPI's `send_json`) escapes every character past ASCII, and any
  // encoder escapes quotes and backslashes: the frame then holds the token in neither form
  // the URL or the raw text has, and parsing the frame decodes it.
  describe.each([
    ['with characters past ASCII', 'tok-ünïcødé-😀-1234'],
    ['with quotes and a backslash', 'tok-"quoted"-\\-1234'],
  ])('when the token is JSON-escaped in the frame, %s', (_what, token) => {
    const frames = (value: unknown) => [JSON.stringify(value), asciiJson(JSON.stringify(value))];

    it.each([
      ...frames({ detail: `Could not validate ${token}` }),
      ...frames({ type: 'error', code: 'auth_failed', message: `bad ${token}` }),
    ])('stays out of the auth failure for %s', async (frame) => {
      const { events, socket, connecting } = await start(false, token);
      socket.receive(frame);
      socket.drop(1000, '');
      const thrown = await rejection(connecting);
      expect(thrown.code).toBe('AUTH_FAILED');
      expect(leaksOf([...events, thrown], token)).toEqual([]);
    });

    it.each([
      ...frames({ type: 'echo', raw: token }),
      ...frames({ type: 'task_update', task_id: -1, status: 's', message: token }),
      ...frames({ type: 'error', code: 'boom', message: token }),
    ])('stays out of the error for %s', async (frame) => {
      const { events, socket } = await start(true, token);
      socket.receive(frame);
      await socket.handled();
      const errors = reported(events);
      expect(errors).toHaveLength(1);
      expect(leaksOf(errors, token)).toEqual([]);
    });
  });
});

describe('a token the server spells its own way', () => {
  const escapeAll = (text: string) =>
    [...text].map((char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');

  it.each([
    ["Python's quote (keeps /)", 'tok-SECRET-1234%2B/%3D'],
    ['percent-encoding in lowercase hex', 'tok-SECRET-1234%2b%2f%3d'],
    ['JSON with / escaped (PHP)', 'tok-SECRET-1234+\\/='],
  ])('stays out of the error for %s', async (_what, spelled) => {
    const { events, socket } = await start(true);
    socket.receive(`{"type":"echo","raw":"${spelled}"}`);
    socket.receive(`{"type":"error","code":"boom","message":"bad ${spelled}"}`);
    await socket.handled();
    const errors = reported(events);
    expect(errors.map((error) => error.code)).toEqual(['UNKNOWN_FRAME', 'SERVER_ERROR']);
    expect(leaksOf(errors)).toEqual([]);
    expect(errors.map((error) => render(error)).join('\n')).not.toContain(spelled);
  });

  it("stays out of the error for Python's quote_plus (a space as +)", async () => {
    const token = 'tok SECRET 1234';
    const { events, socket } = await start(true, token);
    socket.receive('{"type":"echo","raw":"tok+SECRET+1234"}');
    await socket.handled();
    const shown = reported(events).map((error) => render(error));
    expect(shown).toHaveLength(1);
    expect(shown.join('\n')).not.toContain('tok+SECRET+1234');
  });

  it('stays out of the error when every character of it is a \\u escape', async () => {
    const { events, socket } = await start(true);
    const spelled = escapeAll(TOKEN);
    socket.receive(`{"type":"echo","raw":"${spelled}"}`);
    socket.receive(`{"type":"task_update","task_id":-1,"status":"s","message":"${spelled}"}`);
    await socket.handled();
    const errors = reported(events);
    expect(errors.map((error) => error.code)).toEqual(['UNKNOWN_FRAME', 'PROTOCOL_ERROR']);
    const text = errors.map((error) => render(error)).join('\n');
    expect(text).not.toContain(spelled.slice(0, 36));
    expect(leaksOf(errors)).toEqual([]);
    // The rest of the frame is still shown, decoded.
    expect(errors[0]?.frame).toContain('"raw":"***"');
  });

  it('stays out of a close reason that holds only the start of it', async () => {
    // A close reason holds at most 123 bytes: a server that echoes a JWT there cuts it.
    const jwt =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIyIiwiZXhwIjoxNzAwMDAwMDAwfQ.' +
      'c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmUtc2lnbmF0dXJl';
    const { events, socket, connecting } = await start(false, jwt);
    const reason = `bad ${jwt}`.slice(0, 100);
    socket.receive('{"type":"error","code":"auth_failed","message":"expired"}');
    socket.drop(4003, reason);
    const thrown = await rejection(connecting);
    expect(thrown.code).toBe('AUTH_FAILED');
    expect(thrown.closeReason).toBe('bad ***');
    expect(leaksOf([...events, thrown], jwt)).toEqual([]);
  });
});

describe('a token with characters URLs encode in its middle', () => {
  // Its raw start (12+ characters) is also the start of its percent-encoded form.
  const token = 'Zm9vYmFyYmF6cXV4/cXV1eA+c2VjcmV0LXRhaWw=';
  const encoded = encodeURIComponent(token);

  it.each([
    ['percent-encoded', encoded],
    [
      'percent-encoded in lowercase hex',
      encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
    ],
    ['JSON with / escaped', token.replaceAll('/', '\\/')],
  ])('is masked whole when echoed %s', async (_what, spelled) => {
    const { events, socket } = await start(true, token);
    socket.receive(JSON.stringify({ type: 'error', code: 'boom', message: `rejected ${spelled}` }));
    await socket.handled();
    const [error] = reported(events);
    expect(error?.message).toBe('Server error (boom): rejected ***');
  });

  it('is masked when escapes spell it in a frame nested too deep to write again', async () => {
    const { events, socket } = await start(true, token);
    const escaped = [...token].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    socket.receive(`{"type":"echo","v":"${escaped.join('')}","a":1,"a":${deep}}`);
    await socket.handled();
    const [error] = reported(events);
    expect(error?.code).toBe('UNKNOWN_FRAME');
    expect(error?.frame).toMatch(/^\{"type":"echo","v":"\*\*\*","a":1,"a":\[\[/);
  });

  it('is masked in a key of a frame whose escapes spell it elsewhere', async () => {
    const { events, socket } = await start(true, token);
    const escaped = [...token].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    socket.receive(`{"type":"echo","${token}":1,"v":"${escaped.join('')}"}`);
    await socket.handled();
    const [error] = reported(events);
    expect(error?.code).toBe('UNKNOWN_FRAME');
    expect(error?.frame).toBe('{"type":"echo","***":1,"v":"***"}');
  });
});
