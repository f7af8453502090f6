/**
 * Per-connection outbound buffering. Messages are encoded straight into a
 * chunk buffer (no per-message allocation for small messages), and the
 * connection is flushed once per event-loop turn (transport/flush_turn.ts), so
 * everything one turn delivers to a client (e.g. all the replies decoded from
 * one 64 KiB read of the hub link) leaves as one TLS write. Written chunks go
 * back to the WriteBuffer pool.
 * Pending bytes (ours plus the transport's) are capped: a reader that cannot
 * keep up is a slow consumer and is reported to the owner, who closes it, so one
 * slow client never grows memory without bound or slows anyone else.
 */
import type { Transport } from "../transport/transport.js";
import { msgHeaderMaxBytes, writeMsgHeader } from "../protocol/encode.js";
import { recycle, WriteBuffer } from "../protocol/write_buffer.js";
import { flushThisTurn, type TurnFlushed } from "../transport/flush_turn.js";

export interface OutboundOptions {
  /** Close as slow consumer past this many pending bytes. */
  maxPending: number;
  /** Close as slow consumer when the transport stays blocked this long (ms). */
  writeDeadline: number;
  /** Called once when the connection becomes a slow consumer. */
  onSlowConsumer(reason: "pending_bytes" | "write_deadline"): void;
}

export class Outbound implements TurnFlushed {
  private readonly wb = new WriteBuffer();
  private flushScheduled = false;
  private blockedSince = 0;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private failed = false;
  private closed = false;
  outMsgs = 0;
  outBytes = 0;

  constructor(
    private readonly transport: Transport,
    private readonly opts: OutboundOptions,
  ) {
    transport.onDrain(() => this.onDrain());
  }

  /** Bytes accepted and not yet written to the kernel. */
  get pendingBytes(): number {
    return this.wb.size + this.transport.bufferedBytes;
  }

  /** Queue raw protocol bytes (INFO, PONG, +OK, -ERR). */
  writeRaw(bytes: Uint8Array): void {
    if (this.closed) return;
    this.wb.writeBytes(bytes);
    this.afterWrite();
  }

  /** Queue one MSG/HMSG. Returns false if the connection is past its limits. */
  writeMsg(subject: string, sid: string, reply: string | undefined, hdrLen: number, payload: Uint8Array): boolean {
    if (this.closed || this.failed) return false;
    const wb = this.wb;
    const offset = wb.reserve(msgHeaderMaxBytes(subject, sid, reply));
    wb.advance(writeMsgHeader(wb.current, offset, subject, sid, reply, hdrLen, payload.length) - offset);
    wb.writeBytes(payload);
    wb.writeCrlf();
    this.outMsgs++;
    this.outBytes += payload.length;
    this.afterWrite();
    return !this.failed;
  }

  /** Write everything now (used before closing). */
  flush(): void {
    this.flushScheduled = false;
    const batch = this.wb.take();
    if (batch.length === 0) return;
    const written = () => recycle(batch);
    const ok = batch.length === 1 ? this.transport.write(batch[0]!, written) : this.transport.writev(batch, written);
    if (!ok && this.blockedSince === 0) this.startDeadline();
  }

  /** Called by the turn's flush: write what is waiting unless flushed or closed meanwhile. */
  flushTurn(): void {
    if (this.flushScheduled && !this.closed) this.flush();
    this.flushScheduled = false;
  }

  /** Stop accepting data and cancel timers (the owner closes the transport). */
  close(): void {
    this.closed = true;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
  }

  private afterWrite(): void {
    if (this.pendingBytes > this.opts.maxPending) {
      this.fail("pending_bytes");
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      flushThisTurn(this);
    }
  }

  private startDeadline(): void {
    this.blockedSince = Date.now();
    this.deadlineTimer = setTimeout(() => this.fail("write_deadline"), this.opts.writeDeadline);
    this.deadlineTimer.unref?.();
  }

  private onDrain(): void {
    this.blockedSince = 0;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
  }

  private fail(reason: "pending_bytes" | "write_deadline"): void {
    if (this.failed) return;
    this.failed = true;
    this.opts.onSlowConsumer(reason);
  }
}
