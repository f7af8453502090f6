/**
 * The process-wide pool of outbound chunks that every WriteBuffer draws from
 * and every writer gives back once the transport has written them.
 *
 * Why a pool, and why it keeps what a burst needed: each fresh ArrayBuffer is
 * counted by V8 as external memory, and when that grows by tens of MiB since
 * the last full collection V8 starts another one (mark-compact, most of it on
 * its helper threads). One message to a thousand subscribers fills a thousand
 * batches in one turn; had their chunks been fresh each time, that
 * collection would be a fifth of the delivery's CPU (docs/performance.md,
 * change 7). A reused chunk costs neither that nor the page faults of fresh
 * memory.
 *
 * Bounds: spare chunks are kept up to RETAIN_MAX bytes for the whole gateway
 * (in worker mode each worker keeps its share, setPoolShare). What stays unused
 * for a whole SWEEP_MS is given back to the GC by halves, down to FLOOR, so a
 * burst's memory is kept for the next one and released about a minute after
 * the last. Only chunks this module allocated are ever pooled, and a chunk
 * handed back twice is kept once.
 */

/** Size classes: MIN_CHUNK << k up to MAX_CHUNK (small classes: a batch takes about what it needs). */
export const MIN_CHUNK = 4 * 1024;
export const MAX_CHUNK = 1024 * 1024;
const CLASSES = Math.log2(MAX_CHUNK / MIN_CHUNK) + 1;
/** At most this many bytes of spare chunks, for the whole gateway. */
const RETAIN_MAX = 256 * 1024 * 1024;
/** Spare bytes kept however long they sit unused. */
const FLOOR = 4 * 1024 * 1024;
/** How often the pool gives back half of what stayed unused since the last sweep. */
const SWEEP_MS = 30_000;

/** What this process may keep: RETAIN_MAX, or a worker's share of it. */
let retainMax = RETAIN_MAX;
/** Spare chunks per class; the end of each list is the most recently given back. */
const spare: ArrayBuffer[][] = Array.from({ length: CLASSES }, () => []);
/** The same chunks as a set: a chunk given back twice is kept once. */
const spareSet = new Set<ArrayBuffer>();
let spareBytes = 0;
/** The fewest spare bytes since the last sweep: what sat unused throughout. */
let lowWater = 0;
let sweeper: NodeJS.Timeout | null = null;
/** The chunks this module made itself: only those may be reused (never a slice of Node's shared pool). */
const owned = new WeakSet<ArrayBuffer>();

/**
 * Worker mode: this process is one of `workers`, so it keeps at most its
 * share of RETAIN_MAX (never less than FLOOR), and the gateway as a whole
 * stays within RETAIN_MAX.
 */
export function setPoolShare(workers: number): void {
  retainMax = Math.max(FLOOR, Math.floor(RETAIN_MAX / Math.max(1, Math.floor(workers))));
}

/** The smallest class holding `bytes`, or -1 past MAX_CHUNK. */
function classFor(bytes: number): number {
  let k = 0;
  while ((MIN_CHUNK << k) < bytes) if (++k === CLASSES) return -1;
  return k;
}

/** A chunk of at least `bytes`: a spare one of its class if there is one. */
export function takeChunk(bytes: number): Buffer {
  const k = classFor(bytes);
  if (k < 0) return Buffer.allocUnsafe(bytes);
  const ab = spare[k]!.pop();
  if (ab !== undefined) {
    spareSet.delete(ab);
    spareBytes -= ab.byteLength;
    if (spareBytes < lowWater) lowWater = spareBytes;
    return Buffer.from(ab);
  }
  const chunk = Buffer.allocUnsafeSlow(MIN_CHUNK << k);
  owned.add(chunk.buffer as ArrayBuffer);
  return chunk;
}

/**
 * Give back a batch from WriteBuffer.take() once the transport has written it
 * (or a chunk nothing refers to any more). Chunks this module did not make,
 * and chunks past this process's bound, are left to the GC. Never call it while the
 * bytes may still be read.
 */
export function recycle(batch: readonly Uint8Array[]): void {
  for (let i = 0; i < batch.length; i++) {
    const c = batch[i]!;
    const ab = c.buffer as ArrayBuffer;
    if (c.byteOffset !== 0 || !owned.has(ab) || spareSet.has(ab) || spareBytes + ab.byteLength > retainMax) continue;
    const k = classFor(ab.byteLength);
    if (k < 0 || MIN_CHUNK << k !== ab.byteLength) continue;
    spare[k]!.push(ab);
    spareSet.add(ab);
    spareBytes += ab.byteLength;
  }
  if (spareBytes > FLOOR && sweeper === null) {
    lowWater = spareBytes;
    sweeper = setInterval(sweep, SWEEP_MS);
    sweeper.unref();
  }
}

/**
 * One step of giving memory back: half of the spare bytes above FLOOR that
 * were not taken since the last step go to the GC, the least recently given
 * back first, largest classes first. Runs every SWEEP_MS while the pool holds
 * more than FLOOR (exported for tests, which call it instead of waiting).
 */
export function sweep(): void {
  let release = Math.max(0, Math.min(lowWater, spareBytes) - FLOOR) / 2;
  for (let k = CLASSES - 1; k >= 0 && release > 0; k--) {
    const list = spare[k]!;
    let n = 0;
    while (n < list.length && release > 0) {
      const ab = list[n++]!;
      spareSet.delete(ab);
      spareBytes -= ab.byteLength;
      release -= ab.byteLength;
    }
    if (n > 0) list.splice(0, n);
  }
  lowWater = spareBytes;
  if (spareBytes <= FLOOR && sweeper !== null) {
    clearInterval(sweeper);
    sweeper = null;
  }
}

/** Spare chunks and their bytes right now (tests and aaa_leafnode_write_pool_bytes). */
export function poolStats(): { chunks: number; bytes: number } {
  return { chunks: spareSet.size, bytes: spareBytes };
}
