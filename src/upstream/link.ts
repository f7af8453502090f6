/**
 * One live leafnode connection to a hub, and the state machine of its
 * handshake: dialled (CONNECT and a PING barrier sent) → registered (the hub's
 * connect_info INFO arrived and the barrier PONG proves its own LS+ burst,
 * `$LDS.<id>` included, has been read; the owner now replays our interest) →
 * live (a second barrier PONG proves the hub has read the replay; buffered
 * publishes may go). The link owns its timers (registration deadline,
 * keepalive PINGs, staleness) and its coalesced outbound writes (everything
 * queued in one event-loop turn leaves in one write, in call order, so an LS+
 * queued before an LMSG reaches the hub before it: transport/batch_writer.ts). It parses the hub's INFO once
 * (hub_info.ts) and reports each step to its owner; the owner never sets its
 * state. A Link never reconnects: its owner (LeafConn) dials a new one.
 */
import type { LeafDialResult } from "../transport/tls_dialer.js";
import type { Transport } from "../transport/transport.js";
import { LeafParser, type LeafOpSink, type LeafParserLimits } from "../protocol/leaf_parser.js";
import { PING, PONG, encodeLsMinus, encodeLsPlus, writeLeafMsg } from "../protocol/leaf_encode.js";
import { BatchWriter } from "../transport/batch_writer.js";
import { parseHubInfo, type HubInfo } from "./hub_info.js";
import type { RemoteUrl } from "./remote_urls.js";

export type LinkState = "dialled" | "registered" | "live" | "closed";

/** What a Link reports to its owner, each with the link. Implementations must not throw. */
export interface LinkOwner {
  /** Every INFO after the first (URL gossip, lame duck, the connect_info confirmation). */
  linkInfo(link: Link, info: HubInfo): void;
  /** The hub accepted us and its interest burst has been read: replay interest now (synchronously). */
  linkRegistered(link: Link, confirmation: HubInfo): void;
  /** The hub has read the replay: buffered publishes may go. */
  linkLive(link: Link): void;
  linkLsPlus(link: Link, subject: string, queue: string | undefined, weight: number): void;
  linkLsMinus(link: Link, subject: string, queue: string | undefined): void;
  linkMsg(link: Link, subject: string, reply: string | undefined, queues: string[] | null, hdrLen: number, payload: Uint8Array): void;
  linkErr(link: Link, text: string): void;
  /**
   * Called once; `reason` is the hub's -ERR text, the socket error's message, or why we closed;
   * `cause` is the socket error itself when that closed the link (a TLS alert from the hub, a reset).
   */
  linkClosed(link: Link, reason: string, cause?: Error): void;
}

export interface LinkOptions {
  /** The CONNECT line for this hub (built from its first INFO), or an error text to close with. */
  connect: (info: HubInfo) => Uint8Array | string;
  /** Deadline from dial to live, ms. */
  registerTimeout: number;
  pingInterval: number;
  pingMax: number;
  limits?: Partial<LeafParserLimits>;
}

export class Link implements LeafOpSink {
  readonly transport: Transport;
  /** The hub's first INFO, parsed once. */
  readonly hubInfo: HubInfo;
  /** Resolves when the connection is gone. */
  readonly closed: Promise<void>;
  private stateNow: LinkState = "dialled";
  private confirmation: HubInfo | null = null;
  private registeredOnce = false;
  private rtt: number | undefined;
  private readonly parser: LeafParser;
  private readonly out: BatchWriter;
  /** Send times of PINGs not yet answered, oldest first. */
  private pingTimes: number[] = [];
  private pingsSent = 0;
  private pongsSeen = 0;
  /** PING sequence number whose PONG completes the current handshake step (0: none). */
  private barrier = 0;
  private closeReason: string | undefined;
  private hubError: string | undefined;
  private registerTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private resolveClosed!: () => void;

  constructor(
    private readonly owner: LinkOwner,
    readonly url: RemoteUrl,
    private readonly dial: LeafDialResult,
    firstInfo: HubInfo,
    private readonly opts: LinkOptions,
  ) {
    this.transport = dial.transport;
    this.out = new BatchWriter(dial.transport);
    this.hubInfo = firstInfo;
    this.parser = new LeafParser(this, opts.limits ?? {});
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  get state(): LinkState {
    return this.stateNow;
  }

  get isClosed(): boolean {
    return this.stateNow === "closed";
  }

  /** Registered or live: interest sent now reaches the hub. */
  get registered(): boolean {
    return this.stateNow === "registered" || this.stateNow === "live";
  }

  get live(): boolean {
    return this.stateNow === "live";
  }

  /** Reached registration at some point (still true once closed). */
  get hadRegistered(): boolean {
    return this.registeredOnce;
  }

  /** The hub's connect_info INFO (grants, account), once registered. */
  get confirmationInfo(): HubInfo | null {
    return this.confirmation;
  }

  get rttMs(): number | undefined {
    return this.rtt;
  }

  /** Send CONNECT and the first barrier, then start reading the socket. */
  begin(): void {
    this.transport.onClose((err) => this.finish(err));
    this.registerTimer = setTimeout(() => this.close("no connect_info INFO from the hub in time (Stale Leaf Node Connection)"), this.opts.registerTimeout);
    const connect = this.opts.connect(this.hubInfo);
    if (typeof connect === "string") {
      this.close(connect);
      return;
    }
    this.send(connect);
    // A hub before 2.2 never confirms CONNECT with an INFO: its first INFO stands for it.
    if (!this.hubInfo.infoOnConnect) this.confirmation = this.hubInfo;
    this.barrier = this.sendPing();
    // The handshake leaves at once, not at the end of the turn: a hub that refuses our certificate
    // then answers it with its TLS alert, which names the cause, rather than resetting a later write.
    this.out.flush();
    if (this.dial.leftover.length > 0) this.feed(this.dial.leftover);
    if (!this.isClosed) this.transport.onData((chunk) => this.feed(chunk));
  }

  /** Queue bytes; they leave in one batch at the end of this event-loop turn. */
  send(chunk: Uint8Array): void {
    if (this.isClosed) return;
    this.out.wb.writeBytes(chunk);
    this.out.schedule();
  }

  /** Queue one LMSG/HMSG, encoded straight into the batch. */
  sendMsg(subject: string, reply: string | undefined, queues: readonly string[] | null, hdrLen: number, payload: Uint8Array): void {
    if (this.isClosed) return;
    writeLeafMsg(this.out.wb, subject, reply, queues, hdrLen, payload);
    this.out.schedule();
  }

  /** LS+ (weight >= 1) or LS- (weight 0). Transitions are decided by the router's interest map. */
  announce(subject: string, queue: string | undefined, weight: number): void {
    this.send(weight > 0 ? encodeLsPlus(subject, queue, weight) : encodeLsMinus(subject, queue));
  }

  /** Bytes waiting to go to the hub. */
  get backlog(): number {
    return this.transport.bufferedBytes + this.out.size;
  }

  /** Close now, remembering why (reported through linkClosed). */
  close(reason: string): void {
    if (this.isClosed) return;
    this.closeReason ??= reason;
    this.transport.destroy();
  }

  /** Write what is queued, then close gracefully. */
  end(reason: string): void {
    if (this.isClosed) return;
    this.closeReason ??= reason;
    this.out.flush();
    this.transport.end();
  }

  /** Returns the PING's sequence number. */
  private sendPing(): number {
    this.pingTimes.push(performance.now());
    this.send(PING);
    return ++this.pingsSent;
  }

  private keepalive(): void {
    if (this.isClosed) return;
    if (this.pingTimes.length >= this.opts.pingMax) {
      this.close(`Stale Connection: ${this.pingTimes.length} PINGs unanswered`);
      return;
    }
    this.sendPing();
  }

  /** Move on when the barrier PONG and the confirmation are both in. */
  private advance(): void {
    if (this.barrier !== 0 && this.pongsSeen < this.barrier) return;
    if (this.stateNow === "dialled") {
      if (this.confirmation === null) return;
      this.stateNow = "registered";
      this.registeredOnce = true;
      this.owner.linkRegistered(this, this.confirmation);
      if (this.isClosed) return;
      this.barrier = this.sendPing();
      this.pingTimer = setInterval(() => this.keepalive(), this.opts.pingInterval);
      this.pingTimer.unref();
      return;
    }
    if (this.stateNow === "registered") {
      this.stateNow = "live";
      this.barrier = 0;
      this.clearTimers(true);
      this.owner.linkLive(this);
    }
  }

  private feed(chunk: Uint8Array): void {
    if (this.isClosed) return;
    try {
      this.parser.parse(chunk);
    } catch (err) {
      this.close(`protocol error from hub: ${(err as Error).message}`);
    }
  }

  private finish(err?: Error): void {
    if (this.isClosed) return;
    this.stateNow = "closed";
    this.clearTimers(false);
    this.out.close(); // drop what never left
    const own = this.closeReason ?? this.hubError;
    const reason = own ?? (err ? err.message : "connection closed by the hub");
    this.resolveClosed();
    this.owner.linkClosed(this, reason, own === undefined ? err : undefined);
  }

  private clearTimers(registerOnly: boolean): void {
    if (this.registerTimer !== null) {
      clearTimeout(this.registerTimer);
      this.registerTimer = null;
    }
    if (!registerOnly && this.pingTimer !== null) {
      clearInterval(this.pingTimer);
      this.pingTimer = null;
    }
  }

  // LeafOpSink: the parser's events.

  info(json: string): void {
    let info: HubInfo;
    try {
      info = parseHubInfo(json);
    } catch {
      this.close("unparsable INFO from hub");
      return;
    }
    if (info.connectInfo && this.confirmation === null) this.confirmation = info;
    this.owner.linkInfo(this, info);
    if (!this.isClosed) this.advance();
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
    if (sent !== undefined) this.rtt = performance.now() - sent;
    this.pongsSeen++;
    // Any PONG proves the hub is alive: nothing older is outstanding any more.
    // (Each PING gets exactly one PONG, in order, so pongsSeen still counts them.)
    this.pingTimes.length = 0;
    this.advance();
  }

  ok(): void {
    // Leaf connections are never verbose; a stray +OK means nothing.
  }

  err(text: string): void {
    this.hubError ??= text;
    this.owner.linkErr(this, text);
  }
}
