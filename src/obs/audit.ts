/**
 * The audit log: who connected, who was refused and why, who tried what they
 * may not do, and when they left. Each event is one JSON line written through
 * a Logger (usually one of its own, writing to the configured audit file),
 * with an `audit` field naming the event so the lines can be
 * filtered out of a shared log. The refusal detail recorded here is the detail
 * the peer never sees: it only ever gets 'Authorization Violation'.
 *
 * It cannot be turned against the gateway: events are rate-limited per caller
 * (or address) and reason, what is held back is counted and reported as one
 * `suppressed N similar events` line per key and window, the number of keys
 * tracked is bounded, and the audit file sink buffers a bounded number of
 * bytes, drops (and counts) beyond that, and survives a full disk or a stuck
 * file without ever blocking the caller.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import type { LogSink, Logger } from "./log.js";

export type AuditTransport = "tls" | "websocket" | "tcp" | (string & {});

export interface AuditConnect {
  cid: number;
  remote: string;
  callerId: string;
  /** How the caller authenticated, e.g. "aaa-jwt" or "development". */
  method: string;
  /** Token expiry; null when the credential does not expire. */
  expiresAt: Date | string | null;
  transport: AuditTransport;
}

export interface AuditRefused {
  cid: number;
  remote: string;
  /** Detail for operators (never sent to the peer). */
  reason: string;
  /** Stable error code, e.g. GW_ERR_AUTH_EXPIRED. */
  code: string;
  /** The caller id the credential claimed, when it could be read. */
  callerId?: string | null;
}

export type ViolationKind = "publish" | "subscribe" | "reply";

export interface AuditViolation {
  cid: number;
  remote: string;
  callerId: string | null;
  kind: ViolationKind;
  subject: string;
  queue?: string;
}

export interface AuditDisconnect {
  cid: number;
  remote: string;
  callerId: string | null;
  /** Close reason (a CloseReason value). */
  reason: string;
  inMsgs: number;
  outMsgs: number;
  durationMs: number;
}

export interface AuditLog {
  connect(e: AuditConnect): void;
  refused(e: AuditRefused): void;
  violation(e: AuditViolation): void;
  disconnect(e: AuditDisconnect): void;
}

function isoOrNull(v: Date | string | null): string | null {
  if (v === null) return null;
  if (typeof v === "string") return v;
  return Number.isNaN(v.getTime()) ? null : v.toISOString();
}

export interface AuditOptions {
  /** Events let through per key (caller or address, and reason) per window; default 10. */
  perKey?: number;
  /** Window length, ms; default 1000. */
  windowMs?: number;
  /** Keys tracked at once; beyond that, new keys share one bucket. Default 10,000. */
  maxKeys?: number;
  /** Clock, ms (tests). */
  now?: () => number;
}

/** An AuditLog that also reports what its rate limit held back. */
export interface RateLimitedAuditLog extends AuditLog {
  /** Events held back so far (the counter metrics read). */
  readonly suppressed: number;
  /** Write the summary lines of every window that has ended (called on a timer too). */
  sweep(): void;
  /** Stop the sweep timer, writing pending summaries. */
  close(): void;
}

interface Bucket {
  start: number;
  count: number;
  suppressed: number;
  /** What the summary line says the suppressed events were. */
  about: Record<string, unknown>;
}

const OVERFLOW_KEY = "\u0000overflow";

/** Per-key windows: `perKey` events per window pass, the rest are counted. */
class RateGate {
  private readonly buckets = new Map<string, Bucket>();
  suppressedTotal = 0;

  constructor(
    private readonly perKey: number,
    private readonly windowMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number,
    private readonly summary: (about: Record<string, unknown>, suppressed: number, windowMs: number) => void,
  ) {}

  admit(key: string, about: () => Record<string, unknown>): boolean {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) {
        key = OVERFLOW_KEY;
        b = this.buckets.get(key);
      }
      if (b === undefined) {
        b = { start: now, count: 0, suppressed: 0, about: key === OVERFLOW_KEY ? { overflow: true } : about() };
        this.buckets.set(key, b);
      }
    }
    if (now - b.start >= this.windowMs) {
      this.report(b);
      b.start = now;
      b.count = 0;
    }
    if (b.count < this.perKey) {
      b.count++;
      return true;
    }
    b.suppressed++;
    this.suppressedTotal++;
    return false;
  }

  /** Report ended windows and forget idle keys. */
  sweep(all = false): void {
    const now = this.now();
    for (const [key, b] of this.buckets) {
      if (!all && now - b.start < this.windowMs) continue;
      this.report(b);
      this.buckets.delete(key);
    }
  }

  private report(b: Bucket): void {
    if (b.suppressed === 0) return;
    this.summary(b.about, b.suppressed, this.windowMs);
    b.suppressed = 0;
  }
}

export function createAuditLog(logger: Logger, opts: AuditOptions = {}): RateLimitedAuditLog {
  const windowMs = opts.windowMs ?? 1000;
  const gate = new RateGate(opts.perKey ?? 10, windowMs, opts.maxKeys ?? 10_000, opts.now ?? Date.now, (about, n, ms) =>
    logger.warn(`suppressed ${n} similar events`, { audit: "suppressed", ...about, suppressed: n, windowMs: ms }),
  );
  const timer = setInterval(() => gate.sweep(), windowMs);
  timer.unref?.();
  const log = plainAuditLog(logger);
  return {
    connect(e) {
      if (gate.admit(`c\u0000${e.callerId}`, () => ({ event: "connect", callerId: e.callerId }))) log.connect(e);
    },
    refused(e) {
      const who = e.callerId ?? e.remote;
      if (gate.admit(`r\u0000${who}\u0000${e.code}`, () => ({ event: "refused", callerId: e.callerId ?? null, remote: e.remote, code: e.code }))) log.refused(e);
    },
    violation(e) {
      if (gate.admit(`v\u0000${e.callerId}\u0000${e.kind}`, () => ({ event: "violation", callerId: e.callerId, kind: e.kind }))) log.violation(e);
    },
    disconnect(e) {
      const who = e.callerId ?? e.remote;
      if (gate.admit(`d\u0000${who}\u0000${e.reason}`, () => ({ event: "disconnect", callerId: e.callerId, remote: e.remote, reason: e.reason }))) log.disconnect(e);
    },
    get suppressed() {
      return gate.suppressedTotal;
    },
    sweep() {
      gate.sweep();
    },
    close() {
      clearInterval(timer);
      gate.sweep(true);
    },
  };
}

/** Every event as one line, no limit (what the rate-limited log writes through). */
function plainAuditLog(logger: Logger): AuditLog {
  return {
    connect(e) {
      logger.info("client connected", {
        audit: "connect", cid: e.cid, remote: e.remote, callerId: e.callerId, method: e.method,
        expiresAt: isoOrNull(e.expiresAt), transport: e.transport,
      });
    },
    refused(e) {
      logger.warn("connection refused", {
        audit: "refused", cid: e.cid, remote: e.remote, callerId: e.callerId ?? null, reason: e.reason, code: e.code,
      });
    },
    violation(e) {
      const fields: Record<string, unknown> = {
        audit: "violation", cid: e.cid, remote: e.remote, callerId: e.callerId, kind: e.kind, subject: e.subject,
      };
      if (e.queue !== undefined) fields.queue = e.queue;
      logger.warn("permission violation", fields);
    },
    disconnect(e) {
      logger.info("client disconnected", {
        audit: "disconnect", cid: e.cid, remote: e.remote, callerId: e.callerId, reason: e.reason,
        inMsgs: e.inMsgs, outMsgs: e.outMsgs, durationMs: e.durationMs,
      });
    },
  };
}

export interface AuditFileSinkOptions {
  /** Bytes queued while the file cannot keep up; lines beyond are dropped and counted. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** Where a write error is reported, once per failure (default: stderr). */
  onError?: (err: Error) => void;
}

/**
 * An append-only audit file that never blocks and never grows memory without
 * bound: lines go to an async stream; while it is above its high-water mark
 * (a slow or stuck file), at most `maxBufferedBytes` wait, and the rest are
 * dropped and counted. A write error (full disk, file gone) drops lines until
 * a reopen succeeds, tried at most once a second.
 */
export class AuditFileSink implements LogSink {
  /** Lines dropped because the file could not take them. */
  dropped = 0;
  private stream: WriteStream | null = null;
  private pending: string[] = [];
  private pendingBytes = 0;
  private blocked = false;
  private failedAt = 0;
  private closed = false;
  private readonly maxBuffered: number;
  private readonly onError: (err: Error) => void;

  constructor(
    private readonly path: string,
    opts: AuditFileSinkOptions = {},
  ) {
    this.maxBuffered = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.onError = opts.onError ?? ((err) => void process.stderr.write(`audit log ${path}: ${err.message}; dropping audit lines until it recovers\n`));
    this.open();
  }

  write(line: string): void {
    if (this.closed) return;
    if (this.stream === null && !this.reopen()) {
      this.dropped++;
      return;
    }
    if (!this.blocked) {
      this.blocked = !this.stream!.write(line);
      return;
    }
    if (this.pendingBytes + line.length > this.maxBuffered) {
      this.dropped++;
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
  }

  /** Bytes waiting for the file (ours, beyond the stream's own high-water mark). */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  close(): void {
    this.closed = true;
    this.stream?.end();
    this.stream = null;
  }

  private open(): void {
    const stream = createWriteStream(this.path, { flags: "a", mode: 0o640, highWaterMark: 64 * 1024 });
    stream.on("drain", () => this.drain(stream));
    stream.on("error", (err) => this.fail(stream, err));
    this.stream = stream;
    this.blocked = false;
  }

  private reopen(): boolean {
    if (this.closed || Date.now() - this.failedAt < 1000) return false;
    this.open();
    return true;
  }

  private drain(stream: WriteStream): void {
    if (stream !== this.stream) return;
    this.blocked = false;
    while (this.pending.length > 0 && !this.blocked) {
      const line = this.pending.shift()!;
      this.pendingBytes -= line.length;
      this.blocked = !stream.write(line);
    }
  }

  private fail(stream: WriteStream, err: Error): void {
    if (stream !== this.stream) return;
    this.dropped += this.pending.length;
    this.pending = [];
    this.pendingBytes = 0;
    this.stream = null;
    this.failedAt = Date.now();
    stream.destroy();
    this.onError(err);
  }
}
