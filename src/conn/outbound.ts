/**
 * Per-connection outbound buffering. Messages are encoded straight into a
 * chunk buffer (no per-message allocation for small messages); the first write
 * in a tick schedules one flush per microtask, which hands all pending chunks to
 * the transport in one writev (nats.js sendCommand / nats-server flushOutbound).
 * Pending bytes (ours plus the transport's) are capped: a reader that cannot
 * keep up is a slow consumer and is reported to the owner, who closes it, so one
 * slow client never grows memory without bound or slows anyone else.
 */
import type { Transport } from "../transport/transport.js";
import { msgHeaderMaxBytes, writeMsgHeader } from "../protocol/encode.js";

const CHUNK_BYTES = 32 * 1024;
/** Payloads above this are copied into a chunk of their own instead of the shared one. */
const LARGE_PAYLOAD = 8 * 1024;
const CRLF = Buffer.from("\r\n");

export interface OutboundOptions {
  /** Close as slow consumer past this many pending bytes. */
  maxPending: number;
  /** Close as slow consumer when the transport stays blocked this long (ms). */
  writeDeadline: number;
  /** Called once when the connection becomes a slow consumer. */
  onSlowConsumer(reason: "pending_bytes" | "write_deadline"): void;
}

export class Outbound {
  private chunk: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  /** Full chunks (and large payload copies) waiting for the next flush. */
  private queued: Buffer[] = [];
  private queuedBytes = 0;
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
    return this.used + this.queuedBytes + this.transport.bufferedBytes;
  }

  /** Queue raw protocol bytes (INFO, PONG, +OK, -ERR). */
  writeRaw(bytes: Uint8Array): void {
    if (this.closed) return;
    this.copyIn(bytes);
    this.afterWrite();
  }

  /** Queue one MSG/HMSG. Returns false if the connection is past its limits. */
  writeMsg(subject: string, sid: string, reply: string | undefined, hdrLen: number, payload: Uint8Array): boolean {
    if (this.closed || this.failed) return false;
    const headerMax = msgHeaderMaxBytes(subject, sid, reply);
    if (this.chunk.length - this.used < headerMax) this.rotate(headerMax);
    const end = writeMsgHeader(this.chunk, this.used, subject, sid, reply, hdrLen, payload.length);
    this.used = end;
    if (payload.length > LARGE_PAYLOAD) {
      this.rotate(0);
      const copy = Buffer.allocUnsafe(payload.length + 2);
      copy.set(payload, 0);
      copy[payload.length] = 13;
      copy[payload.length + 1] = 10;
      this.queued.push(copy);
      this.queuedBytes += copy.length;
    } else {
      this.copyIn(payload);
      this.copyIn(CRLF);
    }
    this.outMsgs++;
    this.outBytes += payload.length;
    this.afterWrite();
    return !this.failed;
  }

  /** Write everything now (used before closing). */
  flush(): void {
    this.flushScheduled = false;
    if (this.used > 0) this.rotate(0);
    if (this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    const ok = batch.length === 1 ? this.transport.write(batch[0]!) : this.transport.writev(batch);
    if (!ok && this.blockedSince === 0) this.startDeadline();
  }

  /** Stop accepting data and cancel timers (the owner closes the transport). */
  close(): void {
    this.closed = true;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
  }

  private copyIn(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) {
      if (this.used === this.chunk.length) this.rotate(0);
      const n = Math.min(bytes.length - off, this.chunk.length - this.used);
      this.chunk.set(off === 0 && n === bytes.length ? bytes : bytes.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
    }
  }

  /** Move the current chunk to the queue and start a fresh one of at least `need` bytes. */
  private rotate(need: number): void {
    if (this.used > 0) {
      this.queued.push(this.chunk.subarray(0, this.used));
      this.queuedBytes += this.used;
      this.chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, need));
      this.used = 0;
    } else if (this.chunk.length < need) {
      this.chunk = Buffer.allocUnsafe(need);
    }
  }

  private afterWrite(): void {
    if (this.pendingBytes > this.opts.maxPending) {
      this.fail("pending_bytes");
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        if (this.flushScheduled && !this.closed) this.flush();
      });
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
