/**
 * The one outbound write mechanism, for client connections and hub links
 * alike: bytes are encoded into a WriteBuffer and leave in batches.
 *
 * - One flush per event-loop turn for every writer with bytes waiting, as
 *   nats-server flushes its pending connections once per read loop. The first
 *   write since a writer's last flush lists it; one setImmediate, after all of
 *   the turn's I/O callbacks, flushes each listed writer once.
 * - One batch in flight at a time. A TLS socket completes writes
 *   asynchronously and joins every write queued behind a pending one with a
 *   native copy into fresh memory. So while a batch is being written, the next
 *   one keeps growing in the WriteBuffer (one buffer) and leaves when the
 *   transport reports the first written, which also gives its chunks back to
 *   the pool (protocol/write_buffer.ts).
 * - flush() writes now regardless (before a close: nothing queued is lost).
 */
import { recycle, WriteBuffer } from "../protocol/write_buffer.js";
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
  /** Batches handed to the transport and not yet reported written. */
  private inFlight = 0;
  private closed = false;

  constructor(
    private readonly transport: Transport,
    private readonly hooks: BatchWriterHooks | null = null,
  ) {}

  /** Bytes written here and not yet handed to the transport. */
  get size(): number {
    return this.wb.size;
  }

  /** After writing into `wb`: the batch leaves at the end of this turn (or after the batch in flight). */
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

  /** The turn's flush: write unless a batch is still in flight (then it follows that one). */
  flushTurn(): void {
    if (!this.scheduled) return;
    if (this.inFlight === 0) this.flush();
    else this.hooks?.blocked();
  }

  /** Hand everything to the transport now. */
  flush(): void {
    this.scheduled = false;
    if (this.closed || this.wb.size === 0) return;
    const batch = this.wb.take();
    this.inFlight++;
    const written = () => this.written(batch);
    const ok = batch.length === 1 ? this.transport.write(batch[0]!, written) : this.transport.writev(batch, written);
    if (!ok) this.hooks?.blocked();
  }

  /** Drop what was not handed over and write nothing more (the owner closes the transport). */
  close(): void {
    this.closed = true;
    this.wb.take();
  }

  private written(batch: Buffer[]): void {
    this.inFlight--;
    recycle(batch);
    if (this.inFlight !== 0 || this.closed) return;
    this.hooks?.unblocked();
    if (this.wb.size > 0) this.flush();
  }
}
