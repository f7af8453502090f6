/**
 * One live leafnode connection to the hub: the transport from the dialer, the
 * hub→leaf parser, coalesced outbound writes (everything queued in one tick
 * leaves in one writev, in call order, so an LS+ queued before an LMSG reaches
 * the hub before it), the per-connection record of the interest keys we have
 * sent, and PING/PONG bookkeeping for RTT and staleness. A Link never
 * reconnects; its owner (LeafConn) drops it and dials a new one. Every event is
 * reported with the link, so the owner can ignore a link it already replaced.
 */
import type { LeafDialResult } from "../transport/tls_dialer.js";
import type { Transport } from "../transport/transport.js";
import { LeafParser, type LeafOpSink, type LeafParserLimits } from "../protocol/leaf_parser.js";
import { PING, PONG, encodeLsMinus, encodeLsPlus, interestKey, writeLeafMsg } from "../protocol/leaf_encode.js";
import { WriteBuffer } from "../protocol/write_buffer.js";
import type { RemoteUrl } from "./remote_urls.js";

/** What a Link reports to its owner. Implementations must not throw. */
export interface LinkOwner {
  linkInfo(link: Link, info: Record<string, unknown>): void;
  linkLsPlus(link: Link, subject: string, queue: string | undefined, weight: number): void;
  linkLsMinus(link: Link, subject: string, queue: string | undefined): void;
  linkMsg(link: Link, subject: string, reply: string | undefined, queues: string[] | null, hdrLen: number, payload: Uint8Array): void;
  /** A PONG answered one of our PINGs (RTT already updated). */
  linkPong(link: Link): void;
  linkErr(link: Link, text: string): void;
  /** Called once; `reason` is the hub's -ERR text, the socket error, or why we closed. */
  linkClosed(link: Link, reason: string): void;
}

export class Link implements LeafOpSink {
  readonly transport: Transport;
  /** Interest keys sent on this connection, with their last weight (LS+ only on change). */
  readonly sentInterest = new Map<string, number>();
  /** Set once the hub accepted our CONNECT (connect_info INFO). */
  registered = false;
  /** Set once buffered messages were flushed and forward() may write directly. */
  live = false;
  /** First INFO fields the owner keeps (nonce, max_payload, headers). */
  firstInfo: Record<string, unknown> | null = null;
  rttMs: number | undefined;
  private readonly parser: LeafParser;
  private readonly out = new WriteBuffer();
  private flushQueued = false;
  private pingTimes: number[] = [];
  private closed = false;
  private closeReason: string | undefined;
  private hubError: string | undefined;

  constructor(
    private readonly owner: LinkOwner,
    readonly url: RemoteUrl,
    private readonly dial: LeafDialResult,
    limits: Partial<LeafParserLimits> = {},
  ) {
    this.transport = dial.transport;
    this.parser = new LeafParser(this, limits);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** PINGs sent and not answered yet. */
  get pingsOutstanding(): number {
    return this.pingTimes.length;
  }

  /** Feed the INFO the dialer read, then start reading the socket. */
  begin(): void {
    this.transport.onClose((err) => this.finish(err));
    this.feed(this.dial.info);
    if (this.dial.leftover.length > 0) this.feed(this.dial.leftover);
    if (!this.closed) this.transport.onData((chunk) => this.feed(chunk));
  }

  /** Queue bytes; they leave in one batch at the end of this tick. */
  send(chunk: Uint8Array): void {
    if (this.closed) return;
    this.out.writeBytes(chunk);
    this.scheduleFlush();
  }

  /** Queue one LMSG/HMSG, encoded straight into the batch. */
  sendMsg(subject: string, reply: string | undefined, queues: readonly string[] | null, hdrLen: number, payload: Uint8Array): void {
    if (this.closed) return;
    writeLeafMsg(this.out, subject, reply, queues, hdrLen, payload);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Bytes waiting in the kernel-side buffer of the transport. */
  get backlog(): number {
    return this.transport.bufferedBytes + this.out.size;
  }

  flush(): void {
    this.flushQueued = false;
    if (this.closed) return;
    const chunks = this.out.take();
    if (chunks.length === 0) return;
    if (chunks.length === 1) this.transport.write(chunks[0]!);
    else this.transport.writev(chunks);
  }

  /**
   * LS+ on add or weight change, LS- at zero, using the byte-identical key; a
   * plain key at most once, because the hub's own counters leak on duplicates (docs/protocol.md#leaf-grammar).
   */
  announce(subject: string, queue: string | undefined, weight: number): void {
    const key = interestKey(subject, queue);
    const sent = this.sentInterest.get(key);
    if (weight <= 0) {
      if (sent === undefined) return;
      this.sentInterest.delete(key);
      this.send(encodeLsMinus(subject, queue));
      return;
    }
    if (sent === weight || (queue === undefined && sent !== undefined)) return;
    this.sentInterest.set(key, weight);
    this.send(encodeLsPlus(subject, queue, weight));
  }

  sendPing(): void {
    this.pingTimes.push(performance.now());
    this.send(PING);
  }

  /** Close now, remembering why (reported through linkClosed). */
  close(reason: string): void {
    if (this.closed) return;
    this.closeReason ??= reason;
    this.transport.destroy();
  }

  /** Write what is queued, then close gracefully. */
  end(reason: string): void {
    if (this.closed) return;
    this.closeReason ??= reason;
    this.flush();
    this.transport.end();
  }

  private feed(chunk: Uint8Array): void {
    if (this.closed) return;
    try {
      this.parser.parse(chunk);
    } catch (err) {
      this.close(`protocol error from hub: ${(err as Error).message}`);
    }
  }

  private finish(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.out.take(); // drop what never left
    const reason = this.closeReason ?? this.hubError ?? (err ? err.message : "connection closed by the hub");
    this.owner.linkClosed(this, reason);
  }

  // LeafOpSink: the parser's events, reported with this link.

  info(json: string): void {
    let info: Record<string, unknown>;
    try {
      info = JSON.parse(json) as Record<string, unknown>;
    } catch {
      this.close("unparsable INFO from hub");
      return;
    }
    this.owner.linkInfo(this, info);
  }

  lsPlus(subject: string, queue: string | undefined, weight: number): void {
    this.owner.linkLsPlus(this, subject, queue, weight);
  }

  lsMinus(subject: string, queue: string | undefined): void {
    this.owner.linkLsMinus(this, subject, queue);
  }

  msg(subject: string, reply: string | undefined, queues: string[] | null, hdrLen: number, payload: Uint8Array): void {
    this.owner.linkMsg(this, subject, reply, queues, hdrLen, payload);
  }

  ping(): void {
    this.send(PONG);
  }

  pong(): void {
    const sent = this.pingTimes.shift();
    if (sent !== undefined) this.rttMs = performance.now() - sent;
    // Any PONG proves the hub is alive: nothing older is outstanding any more.
    this.pingTimes.length = 0;
    this.owner.linkPong(this);
  }

  ok(): void {
    // Leaf connections are never verbose; a stray +OK means nothing.
  }

  err(text: string): void {
    this.hubError ??= text;
    this.owner.linkErr(this, text);
  }
}
