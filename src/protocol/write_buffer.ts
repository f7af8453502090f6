/**
 * An append-only batch of outbound bytes: protocol lines and payloads are
 * copied into large chunks (no allocation per message), and everything queued
 * since the last take() leaves as a few big buffers in one writev. Payload
 * views handed to us are only valid during the call, so copying here is the
 * one copy a message costs; big payloads get a chunk of their own. Pure: no
 * I/O; the owner decides when to take() and write.
 */

const CHUNK_BYTES = 32 * 1024;
/** Payloads above this are copied into a buffer of their own instead of the shared chunk. */
const LARGE_PAYLOAD = 8 * 1024;

interface NodeBufferWrite {
  utf8Write(s: string, offset: number, length: number): number;
}

export class WriteBuffer {
  private chunk: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
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
    if (this.chunk.length - this.used < n) this.seal();
    this.chunk.set(bytes, this.used);
    this.used += n;
  }

  /** Write a string as UTF-8 (protocol lines; subjects may be UTF-8). */
  writeString(s: string): void {
    const max = s.length * 3;
    if (this.chunk.length - this.used < max) this.reserve(max);
    this.used += (this.chunk as unknown as NodeBufferWrite).utf8Write(s, this.used, this.chunk.length - this.used);
  }

  /** CR LF. */
  writeCrlf(): void {
    if (this.chunk.length - this.used < 2) this.seal();
    this.chunk[this.used++] = 13;
    this.chunk[this.used++] = 10;
  }

  /**
   * Make room for `n` contiguous bytes and return the chunk and offset to
   * write them at; the caller then calls advance() with what it wrote.
   */
  reserve(n: number): { buf: Buffer; offset: number } {
    if (this.chunk.length - this.used < n) {
      this.seal();
      if (this.chunk.length < n) this.chunk = Buffer.allocUnsafe(Math.max(n, CHUNK_BYTES));
    }
    return { buf: this.chunk, offset: this.used };
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

  /** Move the filled part of the current chunk to the queue and start a fresh chunk. */
  private seal(): void {
    if (this.used === 0) return;
    this.queued.push(this.chunk.subarray(0, this.used));
    this.queuedBytes += this.used;
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
  }
}
