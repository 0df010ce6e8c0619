/**
 * The benchmark's wire traffic: `task_update` frames of exactly {@link FRAME_BYTES} bytes, as the
 * backend sends them, with `updated_at` rising by one microsecond per frame so that the task
 * table applies every one (none is stale or a duplicate). Every fifth frame completes its task
 * and carries the task's payload, `result: { url }`, in place of a `message`.
 */

/** Size of every frame, in bytes (all ASCII, so also in UTF-16 units). */
export const FRAME_BYTES = 157;

/** Distinct task ids the frames cycle through. */
const TASKS = 500;
const STATUSES = ['pending', 'running', 'running', 'running', 'completed'] as const;
/** 2026-01-01T00:00:00Z in microseconds. */
const START_US = 1_767_225_600_000_000;

/** `2026-01-01T00:00:00.000001+00:00`: the shape FastAPI writes a UTC `datetime` in. */
function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = String(us % 1_000_000).padStart(6, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${micros}+00:00`;
}

/** Frame number `i` (0-based), exactly {@link FRAME_BYTES} bytes long. */
export function taskUpdateFrame(i: number): string {
  const task_id = 1000 + (i % TASKS);
  const status = STATUSES[i % STATUSES.length];
  const updated_at = isoMicros(START_US + i);
  if (status === 'completed') {
    const head = { type: 'task_update', task_id, status, progress: 100, result: { url: '' } };
    // The file name's digits take whatever room is left.
    const digits = FRAME_BYTES - JSON.stringify({ ...head, updated_at }).length - '/f/.png'.length;
    const url = `/f/${String(i % 10 ** digits).padStart(digits, '0')}.png`;
    return exactly(i, { ...head, result: { url }, updated_at });
  }
  const head = { type: 'task_update', task_id, status, progress: i % 101, message: '', updated_at };
  const room = FRAME_BYTES - JSON.stringify(head).length;
  const message = `resizing image ${i % 1000}`.padEnd(room, '.').slice(0, room);
  return exactly(i, { ...head, message });
}

function exactly(i: number, frame: object): string {
  const text = JSON.stringify(frame);
  if (text.length !== FRAME_BYTES) throw new Error(`frame ${i} is ${text.length} bytes`);
  return text;
}

/** `count` consecutive frames, starting at frame number `start`. */
export function taskUpdateFrames(count: number, start = 0): string[] {
  return Array.from({ length: count }, (_, i) => taskUpdateFrame(start + i));
}
