/**
 * An append-only batch of outbound bytes: protocol lines and payloads are
 * copied into large chunks (no allocation per message), and everything queued
 * since the last take() leaves as a few big buffers in one writev. Payload
 * views handed to us are only valid during the call, so copying here is the
 * one copy a message costs; big payloads get a chunk of their own. Chunks are
 * allocated on first use, so an idle connection holds no outbound memory. Pure:
 * no I/O; the owner decides when to take() and write.
 */

const CHUNK_BYTES = 32 * 1024;
const FIRST_CHUNK_BYTES = 2 * 1024;
/** Payloads above this are copied into a buffer of their own instead of the shared chunk. */
const LARGE_PAYLOAD = 8 * 1024;
const EMPTY = Buffer.alloc(0);

interface NodeBufferWrite {
  utf8Write(s: string, offset: number, length: number): number;
}

export class WriteBuffer {
  private chunk: Buffer = EMPTY;
  private used = 0;
  private queued: Buffer[] = [];
  private queuedBytes = 0;

  /** Bytes held and not yet taken. */
  get size(): number {
    return this.used + this.queuedBytes;
  }

  /** Copy bytes in. */
  writeBytes(bytes: Uint8Array): void {
    const n = bytes.length;
    if (n > LARGE_PAYLOAD) {
      this.seal();
      const copy = Buffer.allocUnsafe(n);
      copy.set(bytes, 0);
      this.queued.push(copy);
      this.queuedBytes += n;
      return;
    }
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

  /** Everything written since the last take(), in order; the buffer is empty afterwards. */
  take(): Buffer[] {
    this.seal();
    const out = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    return out;
  }

  /**
   * Seal the current chunk and start one with room for at least `n` bytes. The
   * first chunk of a batch is small (Node's shared pool serves it): most
   * batches are a PONG or a few messages; busy batches move on to full chunks.
   */
  private grow(n: number): void {
    const first = this.used === 0 && this.queued.length === 0;
    this.seal();
    this.chunk = Buffer.allocUnsafe(Math.max(n, first ? FIRST_CHUNK_BYTES : CHUNK_BYTES));
  }

  /** Move the filled part of the current chunk to the queue; the next write allocates afresh. */
  private seal(): void {
    if (this.used > 0) {
      this.queued.push(this.chunk.subarray(0, this.used));
      this.queuedBytes += this.used;
    }
    this.chunk = EMPTY;
    this.used = 0;
  }
}
