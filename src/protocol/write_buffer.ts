/**
 * An append-only batch of outbound bytes: protocol lines and payloads are
 * copied in (no allocation per message), and everything written since the last
 * take() leaves as one buffer in one write. Payload views handed to us are only
 * valid during the call, so copying here is the one copy a message costs.
 * Pure: no I/O; the owner decides when to take() and write.
 *
 * Why one buffer: a TLS socket's writes complete asynchronously, so every
 * further write in the same turn is queued and later joined with a native copy
 * into freshly allocated memory. One contiguous batch is written as it is.
 * A batch starts in a small slice of Node's shared pool (most batches are a
 * PONG or a few messages) or, when the previous batch was bigger, in a chunk of
 * that size (up to HINT_MAX); when it outgrows its chunk it moves into one twice as big, up to
 * MAX_CHUNK, past which further chunks are queued behind it.
 *
 * Chunks come from the process-wide pool (protocol/chunk_pool.ts) and go
 * back to it once the transport reports a batch written: fresh chunks cost
 * page faults and external-memory pressure that drives V8 into extra full
 * GCs; a reused one costs neither.
 */
import { MAX_CHUNK, MIN_CHUNK, recycle, takeChunk } from "./chunk_pool.js";

const FIRST_CHUNK_BYTES = 2 * 1024;
/**
 * A batch starts with room for as much as the last one, up to this: enough to
 * spare a steady stream its growth copies, small enough that a thousand
 * connections which once took a big batch do not each take a big chunk for
 * their next PONG.
 */
const HINT_MAX = 32 * 1024;
const EMPTY = Buffer.alloc(0);

interface NodeBufferWrite {
  utf8Write(s: string, offset: number, length: number): number;
}

export class WriteBuffer {
  private chunk: Buffer = EMPTY;
  private used = 0;
  /** Full chunks of this batch, when it outgrew MAX_CHUNK. */
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  /** Size of the last batch taken: the next one starts with room for as much. */
  private lastBatch = 0;

  /** Bytes held and not yet taken. */
  get size(): number {
    return this.used + this.queuedBytes;
  }

  /** Copy bytes in. */
  writeBytes(bytes: Uint8Array): void {
    const n = bytes.length;
    if (this.chunk.length - this.used < n) this.grow(n);
    this.chunk.set(bytes, this.used);
    this.used += n;
  }

  /** Write a string as UTF-8 (protocol lines; subjects may be UTF-8). */
  writeString(s: string): void {
    const max = s.length * 3;
    if (this.chunk.length - this.used < max) this.grow(max);
    this.used += (this.chunk as unknown as NodeBufferWrite).utf8Write(s, this.used, this.chunk.length - this.used);
  }

  /** CR LF. */
  writeCrlf(): void {
    if (this.chunk.length - this.used < 2) this.grow(2);
    this.chunk[this.used++] = 13;
    this.chunk[this.used++] = 10;
  }

  /**
   * Make room for `n` contiguous bytes in `current` and return the offset to
   * write them at; the caller then calls advance() with what it wrote. (An
   * offset rather than a {buf, offset} pair: no object per message.)
   */
  reserve(n: number): number {
    if (this.chunk.length - this.used < n) this.grow(n);
    return this.used;
  }

  /** The chunk reserve() made room in; valid until the next write or take(). */
  get current(): Buffer {
    return this.chunk;
  }

  /** The caller wrote `n` bytes at the offset reserve() returned. */
  advance(n: number): void {
    this.used += n;
  }

  /** Everything written since the last take(), in order (one buffer unless past MAX_CHUNK); empty afterwards. */
  take(): Buffer[] {
    if (this.used > 0) {
      this.queued.push(this.chunk.subarray(0, this.used));
      this.queuedBytes += this.used;
    }
    const out = this.queued;
    this.lastBatch = this.queuedBytes;
    this.chunk = EMPTY;
    this.used = 0;
    this.queued = [];
    this.queuedBytes = 0;
    return out;
  }

  /** Make room for `n` more bytes, keeping the batch in one buffer while it fits in MAX_CHUNK. */
  private grow(n: number): void {
    const used = this.used;
    const need = used + n;
    if (used === 0) {
      // A new chunk (a new batch, or the one after a sealed MAX_CHUNK).
      recycle([this.chunk]); // an unused chunk, if any
      const want = this.queued.length === 0 ? Math.max(need, Math.min(this.lastBatch, HINT_MAX)) : Math.max(need, MIN_CHUNK);
      this.chunk = want <= FIRST_CHUNK_BYTES ? Buffer.allocUnsafe(FIRST_CHUNK_BYTES) : takeChunk(want);
      return;
    }
    const old = this.chunk;
    if (need <= MAX_CHUNK) {
      // Move into a chunk at least twice as big: the copies add up to less than the batch.
      this.chunk = takeChunk(Math.max(need, old.length * 2));
      old.copy(this.chunk, 0, 0, used);
      recycle([old]); // nothing else refers to it: it was never taken
      return;
    }
    this.queued.push(old.subarray(0, used));
    this.queuedBytes += used;
    this.chunk = takeChunk(Math.max(n, MIN_CHUNK));
    this.used = 0;
  }
}
