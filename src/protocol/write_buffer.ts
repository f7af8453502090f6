/**
 * An append-only batch of outbound bytes: protocol lines and payloads are
 * copied into large chunks (no allocation per message), and everything queued
 * since the last take() leaves as a few big buffers in one writev. Payload
 * views handed to us are only valid during the call, so copying here is the
 * one copy a message costs; big payloads get a chunk of their own. Chunks are
 * allocated on first use, so an idle connection holds no outbound memory. Pure:
 * no I/O; the owner decides when to take() and write.
 *
 * Full-size chunks are recycled: once the transport reports a batch written
 * (the kernel or TLS has its own copy), the owner hands it to recycle() and its
 * chunks go to one small process-wide pool that every WriteBuffer draws from.
 * Fresh chunks cost page faults and external-memory pressure that drives V8
 * into extra full GCs; a reused one costs neither. A chunk is recycled only
 * through recycle(), so a batch the transport never reported written is simply
 * left to the GC.
 */

const CHUNK_BYTES = 32 * 1024;
const FIRST_CHUNK_BYTES = 2 * 1024;
/** Payloads above this are copied into a buffer of their own instead of the shared chunk. */
const LARGE_PAYLOAD = 8 * 1024;
const EMPTY = Buffer.alloc(0);
/** At most this many spare chunks (2 MiB) are kept for reuse, process-wide. */
const POOL_CHUNKS = 64;
const spare: ArrayBuffer[] = [];
/** The chunks this module made itself: only those may be reused (never a slice of Node's shared pool). */
const owned = new WeakSet<ArrayBuffer>();

/**
 * Give back a batch from take() once the transport has written it. Only
 * full-size chunks that own their whole memory are kept; everything else is
 * left to the GC. Call it once per batch, never while the bytes may still be read.
 */
export function recycle(batch: readonly Uint8Array[]): void {
  for (let i = 0; i < batch.length && spare.length < POOL_CHUNKS; i++) {
    const c = batch[i]!;
    const ab = c.buffer;
    if (c.byteOffset === 0 && ab.byteLength === CHUNK_BYTES && owned.has(ab as ArrayBuffer) && !spare.includes(ab as ArrayBuffer)) spare.push(ab as ArrayBuffer);
  }
}

/** Spare chunks held right now (tests, metrics). */
export function spareChunks(): number {
  return spare.length;
}

interface NodeBufferWrite {
  utf8Write(s: string, offset: number, length: number): number;
}

/** A full-size chunk: a recycled one if the pool has one. */
function fullChunk(): Buffer {
  const ab = spare.pop();
  if (ab !== undefined) return Buffer.from(ab);
  const chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  owned.add(chunk.buffer as ArrayBuffer);
  return chunk;
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
   * Make room for `n` more bytes. A batch starts in a small chunk (Node's
   * shared pool serves it): most batches are a PONG or a few messages. When
   * that overflows, its bytes move into a full chunk, so a batch of up to a
   * chunk stays one buffer and leaves in one plain write (a TLS socket joins
   * several pending buffers with a native copy). Past that, full chunks are
   * sealed and queued.
   */
  private grow(n: number): void {
    if (this.queued.length === 0 && this.chunk.length === FIRST_CHUNK_BYTES && this.used + n <= CHUNK_BYTES) {
      const small = this.chunk;
      this.chunk = fullChunk();
      small.copy(this.chunk, 0, 0, this.used);
      return;
    }
    const first = this.used === 0 && this.queued.length === 0;
    this.seal();
    if (first && n <= FIRST_CHUNK_BYTES) this.chunk = Buffer.allocUnsafe(FIRST_CHUNK_BYTES);
    else this.chunk = n <= CHUNK_BYTES ? fullChunk() : Buffer.allocUnsafe(n);
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
