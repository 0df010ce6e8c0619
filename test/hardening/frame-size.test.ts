/**
 * `maxFrameBytes` counts UTF-8 bytes, the way the frame travelled (and the way `TextEncoder`
 * encodes the string the platform handed over), whatever mix of 1- to 4-byte characters it holds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { setupFakeClients } from './helpers/fake-socket.js';

const encoder = new TextEncoder();
const openClient = setupFakeClients();

async function connected(maxFrameBytes: number) {
  const { client, socket } = await openClient({ maxFrameBytes });
  const tooLarge: string[] = [];
  client.on('error', (error) => error.code === 'FRAME_TOO_LARGE' && tooLarge.push(error.message));
  return { client, socket, tooLarge };
}

/** A frame must pass with `maxFrameBytes` at its UTF-8 length and be dropped one byte below. */
async function atTheEdge(text: string): Promise<void> {
  const bytes = encoder.encode(text).length;
  const atLimit = await connected(bytes);
  atLimit.socket.receive(text);
  await atLimit.socket.handled();
  expect(atLimit.tooLarge).toEqual([]);
  await atLimit.client.close();
  if (bytes > 1) {
    const below = await connected(bytes - 1);
    below.socket.receive(text);
    await below.socket.handled();
    expect(below.tooLarge).toHaveLength(1);
    await below.client.close();
  }
}

/** Characters of 1, 2, 3 and 4 UTF-8 bytes. */
const WIDE = ['a', 'é', '€', '😀'] as const;

describe('maxFrameBytes', () => {
  it.each(WIDE)(
    'lets a frame of exactly maxFrameBytes through and drops one byte more (%s)',
    async (char) => {
      const width = encoder.encode(char).length;
      const max = 60 * width;
      const { socket, tooLarge } = await connected(max);
      socket.receive(`a${'a'.repeat(width - 1)}${char.repeat(59)}`);
      await socket.handled();
      expect(tooLarge).toEqual([]);
      socket.receive(`ab${'a'.repeat(width - 1)}${char.repeat(59)}`);
      await socket.handled();
      expect(tooLarge).toEqual([
        `Frame of ${max + 1} bytes dropped: larger than maxFrameBytes (${max})`,
      ]);
    },
  );

  it('drops exactly the frames longer than maxFrameBytes in UTF-8, for any mix of characters', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }), atTheEdge),
      {
        numRuns: 500,
      },
    );
  });

  it('counts a lone surrogate as the 3 bytes TextEncoder writes for it', async () => {
    const lone = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit));
    const text = fc.string({
      unit: fc.oneof(lone, fc.constantFrom('a', '😀')),
      minLength: 1,
      maxLength: 200,
    });
    await fc.assert(fc.asyncProperty(text, atTheEdge), { numRuns: 500 });
  });
});
