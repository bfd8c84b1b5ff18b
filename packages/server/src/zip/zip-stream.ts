import { finished, Readable } from 'node:stream';
import type { ZipPlan, ZipSegment } from './zip-plan.ts';

/** Upper bound of one pushed chunk of planned bytes (headers are coalesced up to this). */
const CHUNK = 64 * 1024;

type BodySegment = Extract<ZipSegment, { kind: 'body' }>;

const ignore = (): void => {};

/** Index of the segment containing `position` (segments are sorted and contiguous from 0). */
function findSegment(segments: readonly ZipSegment[], position: number): number {
  let low = 0;
  let high = segments.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (segments[mid]!.offset <= position) low = mid;
    else high = mid - 1;
  }
  return low;
}

/**
 * Streams bytes start..end (inclusive) of the planned archive; defaults to the whole archive.
 *
 * - Only entries whose content overlaps the range are opened, each once, for exactly the
 *   overlapping sub-range, one at a time and in order.
 * - Backpressure: an entry stream is paused while this stream's buffer is full, so memory stays
 *   bounded by the two streams' high-water marks whatever the entry sizes.
 * - An entry stream error (or `open` rejecting, or a stream yielding more or fewer bytes than
 *   asked) destroys this stream with that error; destroying this stream destroys the open entry
 *   stream (or the one still being opened, once `open` resolves).
 *
 * Throws RangeError synchronously for a range outside 0..plan.size-1 or with start > end.
 */
export function streamZip(plan: ZipPlan, range?: { start: number; end: number }): Readable {
  const start = range?.start ?? 0;
  const end = range?.end ?? plan.size - 1;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end >= plan.size) {
    throw new RangeError(`invalid zip byte range ${start}..${end} for an archive of ${plan.size} bytes`);
  }
  return new ZipRangeStream(plan.segments, start, end);
}

class ZipRangeStream extends Readable {
  readonly #segments: readonly ZipSegment[];
  readonly #end: number;
  /** Absolute archive offset of the next byte to push. */
  #position: number;
  #index: number;
  #body: Readable | null = null;
  #stopWatchingBody: (() => void) | null = null;
  #opening = false;
  #pumping = false;

  constructor(segments: readonly ZipSegment[], start: number, end: number) {
    super({ highWaterMark: CHUNK });
    this.#segments = segments;
    this.#end = end;
    this.#position = start;
    this.#index = findSegment(segments, start);
  }

  override _read(): void {
    if (this.#body) this.#body.resume();
    else if (!this.#opening) this.#pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#releaseBody();
    callback(error);
  }

  /** Pushes planned bytes until the buffer is full, an entry body must be opened, or the range ends. */
  #pump(): void {
    // push() can synchronously re-enter _read via a consumer calling read(); the outer loop goes on.
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#position <= this.#end) {
        const segment = this.#segments[this.#index]!;
        if (this.#position >= segment.offset + segment.length) {
          this.#index++;
        } else if (segment.kind === 'body') {
          this.#openBody(segment);
          return;
        } else if (!this.push(this.#takeBytes())) {
          return;
        }
      }
      this.push(null);
    } finally {
      this.#pumping = false;
    }
  }

  /** Up to CHUNK bytes from consecutive planned segments, copied: plans are shared between streams. */
  #takeBytes(): Buffer {
    const parts: Buffer[] = [];
    let total = 0;
    while (this.#position <= this.#end && total < CHUNK) {
      const segment = this.#segments[this.#index]!;
      const segmentEnd = segment.offset + segment.length;
      if (this.#position >= segmentEnd) {
        this.#index++;
        continue;
      }
      if (segment.kind !== 'bytes') break;
      const stop = Math.min(segmentEnd, this.#end + 1, this.#position + CHUNK - total);
      parts.push(segment.bytes.subarray(this.#position - segment.offset, stop - segment.offset));
      total += stop - this.#position;
      this.#position = stop;
    }
    return Buffer.concat(parts, total);
  }

  #openBody(segment: BodySegment): void {
    const from = this.#position - segment.offset;
    const to = Math.min(this.#end, segment.offset + segment.length - 1) - segment.offset;
    this.#opening = true;
    // new Promise() also turns a synchronous throw from `open` into a rejection.
    new Promise<Readable>((resolve) => resolve(segment.entry.open(from, to))).then(
      (body) => {
        this.#opening = false;
        if (this.destroyed) {
          body.on('error', ignore);
          body.destroy();
        } else {
          this.#attachBody(body, segment.entry.name, to - from + 1);
        }
      },
      (error: unknown) => {
        this.#opening = false;
        this.destroy(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  #attachBody(body: Readable, name: string, expected: number): void {
    let remaining = expected;
    this.#body = body;
    // Errors reach us through finished(); this keeps a late one from becoming an uncaught exception.
    body.on('error', ignore);
    const onData = (chunk: unknown): void => {
      if (!(chunk instanceof Uint8Array)) {
        this.destroy(new TypeError(`zip entry "${name}": stream yielded a non-binary chunk`));
      } else if (chunk.length > remaining) {
        this.destroy(new Error(`zip entry "${name}": stream yielded more than the ${expected} bytes requested`));
      } else {
        remaining -= chunk.length;
        this.#position += chunk.length;
        if (!this.push(chunk)) body.pause();
      }
    };
    body.on('data', onData);
    const stopFinished = finished(body, { writable: false }, (error) => {
      if (this.#body !== body) return;
      if (error) {
        this.destroy(error);
      } else if (remaining > 0) {
        this.destroy(new Error(`zip entry "${name}": stream ended ${remaining} bytes short of the ${expected} requested`));
      } else {
        this.#releaseBody();
        this.#pump();
      }
    });
    this.#stopWatchingBody = () => {
      stopFinished();
      body.off('data', onData);
    };
  }

  /** Detaches from the current body and destroys it (a no-op once it has ended). */
  #releaseBody(): void {
    const body = this.#body;
    this.#body = null;
    this.#stopWatchingBody?.();
    this.#stopWatchingBody = null;
    if (body && !body.destroyed) body.destroy();
  }
}
