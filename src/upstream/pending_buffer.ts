/**
 * Publishes held while the upstream link is down: a bounded FIFO that keeps
 * each message's routing facts (subject, reply, the local queue groups that
 * served it) rather than encoded bytes, because whether and how it goes up is
 * decided against the hub's interest at flush time. The bound is in bytes and
 * protects memory during a long outage; when full, new messages are refused
 * (the caller counts and reports them), so what is kept stays in order.
 */

export interface PendingMessage {
  readonly subject: string;
  readonly reply: string | undefined;
  readonly hdrLen: number;
  /** A private copy: the caller's view dies when forward() returns. */
  readonly payload: Uint8Array;
  readonly servedQueues: ReadonlySet<string> | null;
  /** Bytes charged against the bound. */
  readonly cost: number;
}

/** Per-message bookkeeping charged on top of subject and payload bytes. */
const OVERHEAD = 64;

export class PendingBuffer {
  private items: (PendingMessage | undefined)[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /** Copy and queue a message; false (nothing kept) when it would pass the bound. */
  push(subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array, servedQueues: ReadonlySet<string> | null): boolean {
    const cost = payload.length + subject.length + (reply?.length ?? 0) + OVERHEAD;
    if (this.bytes + cost > this.maxBytes) return false;
    this.items.push({
      subject,
      reply,
      hdrLen,
      // new Uint8Array(view) copies; Buffer#slice would not.
      payload: new Uint8Array(payload),
      servedQueues: servedQueues === null ? null : new Set(servedQueues),
      cost,
    });
    this.bytes += cost;
    return true;
  }

  /** The oldest message, removed; undefined when empty. */
  shift(): PendingMessage | undefined {
    if (this.head >= this.items.length) return undefined;
    const m = this.items[this.head]!;
    this.items[this.head] = undefined;
    this.head++;
    this.bytes -= m.cost;
    // Compact now and then so the array does not grow without bound.
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return m;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
  }
}
