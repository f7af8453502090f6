/**
 * Per-connection outbound buffering. Messages are encoded straight into the
 * connection's batch (no per-message allocation for small messages), which
 * leaves once per event-loop turn, one batch in flight at a time
 * (transport/batch_writer.ts): everything one turn delivers to a client (e.g.
 * all the replies decoded from one 64 KiB read of the hub link) leaves as one
 * TLS write.
 * Pending bytes (ours plus the transport's) are capped, and so is the time the
 * transport may stay blocked: a reader that cannot keep up is a slow consumer
 * and is reported to the owner, who closes it, so one slow client never grows
 * memory without bound or slows anyone else.
 */
import type { Transport } from "../transport/transport.js";
import { msgHeaderMaxBytes, msgHeadLineMaxBytes, writeMsgHeader, writeMsgHeaderFromHead } from "../protocol/encode.js";
import { BatchWriter } from "../transport/batch_writer.js";

export interface OutboundOptions {
  /** Close as slow consumer past this many pending bytes. */
  maxPending: number;
  /** Close as slow consumer when the transport stays blocked this long (ms). */
  writeDeadline: number;
  /** Called once when the connection becomes a slow consumer. */
  onSlowConsumer(reason: "pending_bytes" | "write_deadline"): void;
}

export class Outbound {
  private readonly batch: BatchWriter;
  private deadlineTimer: NodeJS.Timeout | null = null;
  /** When the current blocked spell began (ms since epoch), 0 when not blocked. */
  private blockedSince = 0;
  private failed = false;
  private closed = false;
  outMsgs = 0;
  outBytes = 0;

  constructor(
    private readonly transport: Transport,
    private readonly opts: OutboundOptions,
  ) {
    this.batch = new BatchWriter(transport, {
      blocked: () => this.startDeadline(),
      unblocked: () => this.clearDeadline(),
    });
  }

  /** Bytes accepted and not yet written to the kernel. */
  get pendingBytes(): number {
    return this.batch.size + this.transport.bufferedBytes;
  }

  /** Queue raw protocol bytes (INFO, PONG, +OK, -ERR). */
  writeRaw(bytes: Uint8Array): void {
    if (this.closed) return;
    this.batch.wb.writeBytes(bytes);
    this.afterWrite();
  }

  /** Queue one MSG/HMSG. Returns false if the connection is past its limits. */
  writeMsg(subject: string, sid: string, reply: string | undefined, hdrLen: number, payload: Uint8Array): boolean {
    if (this.closed || this.failed) return false;
    const wb = this.batch.wb;
    const offset = wb.reserve(msgHeaderMaxBytes(subject, sid, reply));
    wb.advance(writeMsgHeader(wb.current, offset, subject, sid, reply, hdrLen, payload.length) - offset);
    return this.writePayload(payload);
  }

  /** Queue one MSG/HMSG whose `<subject> <sid> ` is a MsgHead's kept bytes. Returns false if the connection is past its limits. */
  writeMsgFromHead(head: Uint8Array, reply: string | undefined, hdrLen: number, payload: Uint8Array): boolean {
    if (this.closed || this.failed) return false;
    const wb = this.batch.wb;
    const offset = wb.reserve(msgHeadLineMaxBytes(head, reply));
    wb.advance(writeMsgHeaderFromHead(wb.current, offset, head, reply, hdrLen, payload.length) - offset);
    return this.writePayload(payload);
  }

  private writePayload(payload: Uint8Array): boolean {
    const wb = this.batch.wb;
    wb.writeBytes(payload);
    wb.writeCrlf();
    this.outMsgs++;
    this.outBytes += payload.length;
    this.afterWrite();
    return !this.failed;
  }

  /** Write everything now (used before closing). */
  flush(): void {
    this.batch.flush();
  }

  /** Stop accepting data and cancel timers (the owner closes the transport). */
  close(): void {
    this.closed = true;
    this.batch.close();
    this.blockedSince = 0;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
  }

  private afterWrite(): void {
    if (this.pendingBytes > this.opts.maxPending) {
      this.fail("pending_bytes");
      return;
    }
    this.batch.schedule();
  }

  /**
   * The transport pushed back, or a batch waits behind a write not yet done:
   * the write deadline runs from now unless it already runs. One timer per
   * blocked spell at most, not one per turn: it re-arms itself while the
   * connection stays blocked and lapses once it is not.
   */
  private startDeadline(): void {
    if (this.closed || this.blockedSince !== 0) return;
    this.blockedSince = Date.now();
    if (this.deadlineTimer === null) this.armDeadline(this.opts.writeDeadline);
  }

  /** Everything handed over was written. */
  private clearDeadline(): void {
    this.blockedSince = 0;
  }

  private armDeadline(ms: number): void {
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = null;
      if (this.blockedSince === 0 || this.closed) return;
      const left = this.blockedSince + this.opts.writeDeadline - Date.now();
      if (left <= 0) this.fail("write_deadline");
      else this.armDeadline(left);
    }, ms);
    this.deadlineTimer.unref?.();
  }

  private fail(reason: "pending_bytes" | "write_deadline"): void {
    if (this.failed) return;
    this.failed = true;
    this.opts.onSlowConsumer(reason);
  }
}
