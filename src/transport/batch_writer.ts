/**
 * The one outbound write mechanism, for client connections and hub links
 * alike: bytes are encoded into a WriteBuffer and leave in batches.
 *
 * - One flush per event-loop turn for every writer with bytes waiting, as
 *   nats-server flushes its pending connections once per read loop. The first
 *   write since a writer's last flush lists it; one setImmediate, after all of
 *   the turn's I/O callbacks, flushes each listed writer once.
 * - One write of one buffer in flight at a time. A TLS socket completes
 *   writes asynchronously and joins every write queued behind a pending one
 *   with a native copy into fresh memory. So while a write is pending, the
 *   next batch keeps growing in the WriteBuffer (one buffer up to 1 MiB) and
 *   leaves when the transport reports the first written, which also gives its
 *   chunk back to the pool (protocol/chunk_pool.ts). A batch of several
 *   chunks leaves one chunk per write.
 * - flush() writes everything now regardless (before a close: nothing queued
 *   is lost).
 */
import { recycle } from "../protocol/chunk_pool.js";
import { WriteBuffer } from "../protocol/write_buffer.js";
import type { Transport } from "./transport.js";

/** Writers listed for this turn; `spare` is the previous turn's list, reused. */
let waiting: BatchWriter[] = [];
let spare: BatchWriter[] = [];
let turnScheduled = false;

function flushWaiting(): void {
  turnScheduled = false;
  const list = waiting;
  waiting = spare;
  for (let i = 0; i < list.length; i++) list[i]!.flushTurn();
  list.length = 0;
  spare = list;
}

export interface BatchWriterHooks {
  /** The transport answered a write with back-pressure, or a turn's batch waits behind one not yet written. */
  blocked(): void;
  /** Every batch handed to the transport has been written. */
  unblocked(): void;
}

export class BatchWriter {
  /** Encode into this, then call schedule(). */
  readonly wb = new WriteBuffer();
  private scheduled = false;
  /** Chunks taken from `wb` behind a chunk in flight (a batch past one chunk, or a backed-up peer). */
  private queue: Buffer[] = [];
  private queueBytes = 0;
  /** Writes handed to the transport and not yet reported written. */
  private inFlight = 0;
  private closed = false;

  constructor(
    private readonly transport: Transport,
    private readonly hooks: BatchWriterHooks | null = null,
  ) {}

  /** Bytes written here and not yet handed to the transport. */
  get size(): number {
    return this.wb.size + this.queueBytes;
  }

  /** After writing into `wb`: the batch leaves at the end of this turn (or after the write in flight). */
  schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      waiting.push(this);
      if (!turnScheduled) {
        turnScheduled = true;
        setImmediate(flushWaiting);
      }
    }
  }

  /** The turn's flush: write unless a write is still in flight (then this follows it). */
  flushTurn(): void {
    if (!this.scheduled) return;
    this.scheduled = false;
    if (this.inFlight === 0) this.writeNext();
    else this.hooks?.blocked();
  }

  /** Hand everything to the transport now, behind whatever is in flight (before a close). */
  flush(): void {
    this.scheduled = false;
    if (this.closed) return;
    const batch = this.queue;
    if (this.wb.size > 0) batch.push(...this.wb.take());
    this.queue = [];
    this.queueBytes = 0;
    if (batch.length === 0) return;
    this.inFlight++;
    const written = () => this.written(batch);
    const ok = batch.length === 1 ? this.transport.write(batch[0]!, written) : this.transport.writev(batch, written);
    if (!ok) this.hooks?.blocked();
  }

  /** Drop what was not handed over and write nothing more (the owner closes the transport). */
  close(): void {
    this.closed = true;
    this.wb.take();
    this.queue = [];
    this.queueBytes = 0;
  }

  /** One chunk to the transport: a single buffer, so TLS encrypts it where it is. */
  private writeNext(): void {
    if (this.closed) return;
    if (this.queue.length === 0) {
      if (this.wb.size === 0) return;
      this.queue = this.wb.take();
      for (let i = 0; i < this.queue.length; i++) this.queueBytes += this.queue[i]!.length;
    }
    const chunk = this.queue.shift()!;
    this.queueBytes -= chunk.length;
    this.inFlight++;
    const ok = this.transport.write(chunk, () => this.written([chunk]));
    if (!ok) this.hooks?.blocked();
  }

  private written(chunks: Buffer[]): void {
    this.inFlight--;
    recycle(chunks);
    if (this.inFlight !== 0 || this.closed) return;
    this.hooks?.unblocked();
    this.writeNext();
  }
}
