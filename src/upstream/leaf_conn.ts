/**
 * The solicited leafnode connection to the hub, as the router's Upstream. It
 * dials in nats-server order (clear INFO → TLS → CONNECT), waits for the hub's
 * connect_info INFO, replays our whole local interest, flushes what was
 * buffered while down once a PING/PONG barrier shows the hub's interest burst
 * has been read, and from then on relays LS+/LS- and LMSG/HMSG both ways. On
 * loss it reconnects for ever with exponential backoff and jitter across the
 * configured URLs and those the hub advertises; refusals are logged with the
 * hub's own words and retried, never thrown. Wire facts: docs/protocol.md#leafnode-link.
 */
import { UpstreamError } from "../errors.js";
import type { LeafRemoteConfig } from "../config/types.js";
import type { Logger } from "../obs/log.js";
import type { Upstream } from "../router/types.js";
import { dialLeaf, type LeafDialResult } from "../transport/tls_dialer.js";
import { encodeConnect } from "../protocol/leaf_encode.js";
import { Backoff } from "./backoff.js";
import { readCreds, signNonce } from "./creds.js";
import { ImportGrants } from "./grants.js";
import { HubInterest } from "./hub_interest.js";
import { Link, type LinkOwner } from "./link.js";
import { PendingBuffer } from "./pending_buffer.js";
import { RemoteUrlList, type RemoteUrl } from "./remote_urls.js";

export interface LeafConnOptions {
  remote: LeafRemoteConfig;
  serverName: string;
  version: string;
  bufferBytes: number;
  reconnectBaseDelay: number;
  reconnectMaxDelay: number;
  pingInterval: number;
  pingMax: number;
  log: Logger;
  /** Current local interest, replayed in full on every (re)connect. */
  interestSnapshot(): Iterable<{ subject: string; queue: string | undefined; weight: number }>;
  /** A message from the hub, to route into the local router. */
  onMessage(subject: string, reply: string | undefined, queues: readonly string[] | null, hdrLen: number, payload: Uint8Array): void;
  onStateChange?(connected: boolean): void;
  /** Deadlines in ms: TCP connect, first INFO, TLS handshake, connect_info INFO + barrier PONG. */
  timeouts?: { connect?: number; info?: number; handshake?: number; register?: number };
}

export interface LeafConnStats {
  inMsgs: number; inBytes: number; outMsgs: number; outBytes: number;
  reconnects: number;
  bufferedMsgs: number; bufferedBytes: number;
  droppedMsgs: number; droppedBytes: number;
  lastError?: string;
}

export const LeafConnErrorCode = {
  WrongPort: "GW_ERR_UPSTREAM_WRONG_PORT",
  Refused: "GW_ERR_UPSTREAM_REFUSED",
} as const;

/** Go solicitors wait 30 s after these refusals, since retrying sooner repeats them (docs/protocol.md#leaf-errors). */
const LONG_BACKOFF_ERRORS = [/loop detected/i, /same cluster name/i];
const LONG_BACKOFF_MS = 30_000;

/**
 * A leafnode INFO has a non-zero client_id and leafnode_urls; a client port's
 * does not. Go solicitors refuse such a peer as "wrong port" (docs/protocol.md#handshake), and so do we.
 */
function checkLeafInfo(info: Record<string, unknown>, url: RemoteUrl): void {
  if (typeof info.client_id !== "number" || info.client_id === 0 || !Array.isArray(info.leafnode_urls)) {
    throw new UpstreamError(LeafConnErrorCode.WrongPort, `${url.label} is not a leafnode port (attempted to connect to wrong port)`);
  }
}

export class LeafConn implements Upstream, LinkOwner {
  readonly stats: LeafConnStats = {
    inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0, reconnects: 0,
    bufferedMsgs: 0, bufferedBytes: 0, droppedMsgs: 0, droppedBytes: 0,
  };
  private readonly log: Logger;
  private readonly urls: RemoteUrlList;
  private readonly backoff: Backoff;
  private readonly hub = new HubInterest();
  private readonly pending: PendingBuffer;
  private link: Link | null = null;
  private started = false;
  private stopped = false;
  private dialing: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private registerTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private everConnected = false;
  private overflowLogged = false;
  private nextDelay: number | undefined;
  /** Hub limits and grants, kept from the last connection. */
  private hubMaxPayload = 0;
  private hubHeaders = true;
  private grants = ImportGrants.none;

  constructor(private readonly opts: LeafConnOptions) {
    this.log = opts.log.child({ component: "upstream", remote: opts.remote.name });
    this.urls = new RemoteUrlList(opts.remote.urls);
    this.backoff = new Backoff({ baseDelay: opts.reconnectBaseDelay, maxDelay: opts.reconnectMaxDelay });
    this.pending = new PendingBuffer(opts.bufferBytes);
  }

  get connected(): boolean {
    return this.link !== null && this.link.registered;
  }

  /** The hub URL of the registered connection, if any (metric labels). */
  get currentUrl(): RemoteUrl | null {
    return this.link?.registered ? this.link.url : null;
  }

  get rttMs(): number | undefined {
    return this.link?.rttMs;
  }

  /** The hub's current interest (monitoring, tests). */
  get hubInterest(): HubInterest {
    return this.hub;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.attempt();
  }

  /** Flush, close, and never reconnect. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimer("retryTimer");
    if (this.dialing) await this.dialing;
    const link = this.link;
    if (link && !link.isClosed) {
      const closed = new Promise<void>((resolve) => link.transport.onClose(() => resolve()));
      link.end("gateway stopping");
      const timer = setTimeout(() => link.close("gateway stopping"), 2000);
      await closed;
      clearTimeout(timer);
    }
  }

  setInterest(subject: string, queue: string | undefined, weight: number): void {
    const link = this.link;
    // Not registered: the full snapshot is replayed on (re)connect instead.
    if (link === null || !link.registered || link.isClosed) return;
    this.sendInterest(link, subject, queue, weight);
  }

  forward(subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array, servedQueues: ReadonlySet<string> | null): boolean {
    // nats-server 2.9.10 does not enforce max_payload on inbound LMSG (docs/protocol.md#routing), so we do.
    if (this.hubMaxPayload > 0 && payload.length > this.hubMaxPayload) {
      this.countDropped(payload.length);
      return false;
    }
    const link = this.link;
    if (link !== null && link.live && !link.isClosed) return this.send(link, subject, reply, hdrLen, payload, servedQueues);
    if (this.pending.push(subject, reply, hdrLen, payload, servedQueues)) {
      this.syncBufferStats();
      return true;
    }
    this.countDropped(payload.length);
    if (!this.overflowLogged) {
      this.overflowLogged = true;
      this.log.warn("upstream buffer full, dropping publishes until the hub is back", { bufferBytes: this.opts.bufferBytes });
    }
    return false;
  }

  // ---- connecting ----

  private attempt(): void {
    if (this.stopped) return;
    const url = this.urls.next();
    const tls = this.opts.remote.tls;
    const t = this.opts.timeouts ?? {};
    this.dialing = dialLeaf({
      host: url.host,
      port: url.port,
      tlsWanted: url.tlsScheme || tls.cert !== undefined,
      tls,
      connectTimeout: t.connect ?? 5000,
      infoTimeout: t.info ?? 5000,
      handshakeTimeout: t.handshake ?? 5000,
      checkInfo: (info) => checkLeafInfo(info, url),
    }).then(
      (res) => this.onDialed(url, res),
      (err: Error) => this.onFailure(url, err.message.trim()),
    ).finally(() => {
      this.dialing = null;
    });
  }

  private onDialed(url: RemoteUrl, res: LeafDialResult): void {
    if (this.stopped) {
      res.transport.destroy();
      return;
    }
    const link = new Link(this, url, res);
    this.link = link;
    this.registerTimer = setTimeout(() => {
      link.close("no connect_info INFO from the hub in time (Stale Leaf Node Connection)");
    }, this.opts.timeouts?.register ?? 2000);
    link.begin();
  }

  /** First INFO: check it is a leafnode port, then CONNECT. Later INFOs: URLs and registration. */
  linkInfo(link: Link, info: Record<string, unknown>): void {
    if (link !== this.link) return;
    if (link.firstInfo === null) {
      link.firstInfo = info;
      this.learnInfo(link, info);
      this.sendConnect(link, info);
      // A hub that will not confirm CONNECT with an INFO (pre-2.2) counts as registered at once.
      if (info.info_on_connect !== true && !link.isClosed) this.onRegistered(link, info);
      return;
    }
    this.learnInfo(link, info);
    if (info.connect_info === true && !link.registered) this.onRegistered(link, info);
  }

  private learnInfo(link: Link, info: Record<string, unknown>): void {
    if (typeof info.max_payload === "number" && info.max_payload > 0) this.hubMaxPayload = info.max_payload;
    if (typeof info.headers === "boolean") this.hubHeaders = info.headers;
    if (Array.isArray(info.leafnode_urls)) {
      const added = this.urls.addDiscovered(info.leafnode_urls, link.url.tlsScheme);
      if (added > 0) this.log.debug("learned hub leafnode URLs", { urls: this.urls.all().map((u) => u.label) });
    }
  }

  private sendConnect(link: Link, info: Record<string, unknown>): void {
    let jwt: string | undefined, sig: string | undefined;
    if (this.opts.remote.credentials !== undefined) {
      try {
        const creds = readCreds(this.opts.remote.credentials);
        jwt = creds.jwt;
        sig = signNonce(creds.seed, typeof info.nonce === "string" ? info.nonce : "");
      } catch (err) {
        link.close((err as Error).message);
        return;
      }
    }
    link.send(encodeConnect({
      name: this.opts.serverName,
      version: this.opts.version,
      tls_required: link.transport.secure,
      headers: true,
      jwt,
      sig,
    }));
  }

  /** The hub accepted CONNECT: replay interest, then a PING as barrier before flushing the buffer. */
  private onRegistered(link: Link, info: Record<string, unknown>): void {
    link.registered = true;
    this.grants = ImportGrants.from(info.import);
    this.urls.preferNext(link.url);
    if (this.everConnected) this.stats.reconnects++;
    this.everConnected = true;
    this.log.info("upstream connected", {
      url: link.url.label,
      hub: info.server_name,
      account: info.remote_account,
      tls: link.transport.secure,
    });
    for (const e of this.opts.interestSnapshot()) this.sendInterest(link, e.subject, e.queue, e.weight);
    link.sendPing();
    this.pingTimer = setInterval(() => this.keepalive(link), this.opts.pingInterval);
    this.pingTimer.unref();
    this.notify(true);
  }

  linkPong(link: Link): void {
    if (link !== this.link || !link.registered || link.live) return;
    // Barrier passed: the hub's LS+ burst is parsed, so buffered messages meet real interest.
    this.clearTimer("registerTimer");
    // Only now: a hub that refuses our LS+ closes before this PONG, and must not get a fast retry.
    this.backoff.reset();
    this.flushPending(link);
    link.live = true;
    this.overflowLogged = false;
  }

  private keepalive(link: Link): void {
    if (link !== this.link || link.isClosed) return;
    if (link.pingsOutstanding >= this.opts.pingMax) {
      link.close(`Stale Connection: ${link.pingsOutstanding} PINGs unanswered`);
      return;
    }
    link.sendPing();
  }

  linkErr(link: Link, text: string): void {
    if (link !== this.link) return;
    this.log.warn("hub sent -ERR", { url: link.url.label, error: text });
    if (LONG_BACKOFF_ERRORS.some((re) => re.test(text))) this.nextDelay = LONG_BACKOFF_MS;
  }

  linkClosed(link: Link, reason: string): void {
    if (link !== this.link) return;
    this.link = null;
    this.clearTimer("registerTimer");
    this.clearTimer("pingTimer");
    this.hub.clear();
    const wasConnected = link.registered;
    if (wasConnected) this.notify(false);
    if (this.stopped) {
      this.log.info("upstream closed", { url: link.url.label });
      return;
    }
    this.onFailure(link.url, reason.trim(), wasConnected);
  }

  private onFailure(url: RemoteUrl, reason: string, wasConnected = false): void {
    this.stats.lastError = reason;
    if (this.stopped) return;
    const delay = this.nextDelay ?? this.backoff.next();
    this.nextDelay = undefined;
    this.log.warn(wasConnected ? "upstream connection lost" : "upstream connect failed", { url: url.label, error: reason, retryInMs: delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.attempt();
    }, delay);
  }

  // ---- traffic ----

  linkLsPlus(link: Link, subject: string, queue: string | undefined, weight: number): void {
    if (link !== this.link) return;
    if (!this.hub.add(subject, queue, weight)) this.log.debug("ignoring hub LS+ with invalid subject", { subject });
  }

  linkLsMinus(link: Link, subject: string, queue: string | undefined): void {
    if (link === this.link) this.hub.remove(subject, queue);
  }

  linkMsg(link: Link, subject: string, reply: string | undefined, queues: string[] | null, hdrLen: number, payload: Uint8Array): void {
    if (link !== this.link) return;
    this.stats.inMsgs++;
    this.stats.inBytes += payload.length;
    try {
      this.opts.onMessage(subject, reply, queues, hdrLen, payload);
    } catch (err) {
      // A routing bug must not take the hub link down with it.
      this.log.error("routing a hub message failed", { subject, error: err as Error });
    }
  }

  private sendInterest(link: Link, subject: string, queue: string | undefined, weight: number): void {
    if (weight > 0) {
      if (this.hub.isHubLoopSubject(subject)) return; // never reflect the hub's $LDS. back (docs/protocol.md#special-subjects)
      if (!this.grants.allows(subject)) {
        this.log.warn("not announcing interest the hub does not allow", { subject });
        return;
      }
    }
    link.announce(subject, queue, weight);
  }

  /** LMSG/HMSG only when the hub wants it; name the hub's groups that no local member served. */
  private send(link: Link, subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array, served: ReadonlySet<string> | null): boolean {
    const m = this.hub.match(subject);
    let queues = m.queues;
    if (served !== null && queues.length > 0) queues = queues.filter((q) => !served.has(q));
    if (!m.plain && queues.length === 0) return false;
    if (hdrLen > 0 && !this.hubHeaders) {
      payload = payload.subarray(hdrLen); // a hub without headers gets the body only (docs/protocol.md#routing)
      hdrLen = -1;
    }
    if (link.backlog > this.opts.bufferBytes) {
      this.countDropped(payload.length);
      return false;
    }
    link.sendMsg(subject, reply, queues, hdrLen, payload);
    this.stats.outMsgs++;
    this.stats.outBytes += payload.length;
    return true;
  }

  private flushPending(link: Link): void {
    const n = this.pending.length;
    if (n === 0) return;
    let sent = 0;
    for (let m = this.pending.shift(); m !== undefined; m = this.pending.shift()) {
      if (this.send(link, m.subject, m.reply, m.hdrLen, m.payload, m.servedQueues)) sent++;
    }
    this.syncBufferStats();
    this.log.info("flushed buffered publishes", { buffered: n, sent });
  }

  private countDropped(bytes: number): void {
    this.stats.droppedMsgs++;
    this.stats.droppedBytes += bytes;
  }

  private syncBufferStats(): void {
    this.stats.bufferedMsgs = this.pending.length;
    this.stats.bufferedBytes = this.pending.byteSize;
  }

  private notify(connected: boolean): void {
    try {
      this.opts.onStateChange?.(connected);
    } catch (err) {
      this.log.error("upstream state callback failed", { error: err as Error });
    }
  }

  private clearTimer(name: "retryTimer" | "registerTimer" | "pingTimer"): void {
    const t = this[name];
    if (t !== null) {
      clearTimeout(t);
      this[name] = null;
    }
  }
}
