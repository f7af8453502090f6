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
 * Chunks are recycled: once the transport reports a batch written, the owner
 * hands it to recycle() and its chunks go to one small process-wide pool, by
 * size class, that every WriteBuffer draws from. Fresh chunks cost page faults
 * and external-memory pressure that drives V8 into extra full GCs; a reused one
 * costs neither. Only chunks this module allocated are ever pooled.
 */

const FIRST_CHUNK_BYTES = 2 * 1024;
/** Size classes of pooled chunks: MIN_CHUNK << k up to MAX_CHUNK (small classes: a batch takes about what it needs). */
const MIN_CHUNK = 4 * 1024;
const MAX_CHUNK = 1024 * 1024;
const CLASSES = Math.log2(MAX_CHUNK / MIN_CHUNK) + 1;
/**
 * A batch starts with room for as much as the last one, up to this: enough to
 * spare a steady stream its growth copies, small enough that a thousand
 * connections which once took a big batch do not each take a big chunk for
 * their next PONG.
 */
const HINT_MAX = 32 * 1024;
/** At most this many bytes of spare chunks are kept for reuse, process-wide. */
const POOL_BYTES = 4 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

const spare: ArrayBuffer[][] = Array.from({ length: CLASSES }, () => []);
let spareBytes = 0;
/** The chunks this module made itself: only those may be reused (never a slice of Node's shared pool). */
const owned = new WeakSet<ArrayBuffer>();

/** The smallest class holding `bytes`, or -1 past MAX_CHUNK. */
function classFor(bytes: number): number {
  let k = 0;
  while ((MIN_CHUNK << k) < bytes) if (++k === CLASSES) return -1;
  return k;
}

/** A chunk of at least `bytes`: a recycled one of its class if the pool has one. */
function chunkFor(bytes: number): Buffer {
  const k = classFor(bytes);
  if (k < 0) return Buffer.allocUnsafe(bytes);
  const ab = spare[k]!.pop();
  if (ab !== undefined) {
    spareBytes -= ab.byteLength;
    return Buffer.from(ab);
  }
  const chunk = Buffer.allocUnsafeSlow(MIN_CHUNK << k);
  owned.add(chunk.buffer as ArrayBuffer);
  return chunk;
}

/**
 * Give back a batch from take() once the transport has written it (or a chunk
 * nothing refers to any more). Chunks this module did not make, and chunks
 * beyond the pool's byte limit, are left to the GC. Never call it while the
 * bytes may still be read.
 */
export function recycle(batch: readonly Uint8Array[]): void {
  for (let i = 0; i < batch.length; i++) {
    const c = batch[i]!;
    const ab = c.buffer as ArrayBuffer;
    if (c.byteOffset !== 0 || !owned.has(ab) || spareBytes + ab.byteLength > POOL_BYTES) continue;
    const k = classFor(ab.byteLength);
    if (k < 0 || MIN_CHUNK << k !== ab.byteLength) continue;
    const list = spare[k]!;
    if (list.includes(ab)) continue; // handed back twice: keep it once
    list.push(ab);
    spareBytes += ab.byteLength;
  }
}

/** Spare chunks held right now (tests). */
export function spareChunks(): number {
  let n = 0;
  for (const list of spare) n += list.length;
  return n;
}

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
      this.chunk = want <= FIRST_CHUNK_BYTES ? Buffer.allocUnsafe(FIRST_CHUNK_BYTES) : chunkFor(want);
      return;
    }
    const old = this.chunk;
    if (need <= MAX_CHUNK) {
      // Move into a chunk at least twice as big: the copies add up to less than the batch.
      this.chunk = chunkFor(Math.max(need, old.length * 2));
      old.copy(this.chunk, 0, 0, used);
      recycle([old]); // nothing else refers to it: it was never taken
      return;
    }
    this.queued.push(old.subarray(0, used));
    this.queuedBytes += used;
    this.chunk = chunkFor(Math.max(n, MIN_CHUNK));
    this.used = 0;
  }
}
