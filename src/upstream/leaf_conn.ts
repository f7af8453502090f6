/**
 * One configured remote as the router's Upstream: a solicited leafnode link to
 * one hub (or one hub cluster). It dials in nats-server order (clear INFO →
 * TLS → CONNECT), lets its Link run the handshake, replays the router's whole
 * interest when the link registers, flushes what was buffered while down when
 * it goes live, and from then on relays LS+/LS- and LMSG/HMSG both ways. On
 * loss it reconnects for ever with exponential backoff and jitter across the
 * configured URLs and those the hub advertises; refusals are logged with the
 * hub's own words and retried, never thrown. Nothing goes up that the hub
 * would refuse (safety.ts); if the hub still closes the link for an interest
 * or publish, that subject is refused locally from then on, its subscribers
 * are told, and the link comes back without it. Each remote has its own
 * buffer, backoff, URLs and statistics, so one remote's outage touches only
 * its own traffic. Wire facts: docs/leafnode.md.
 */
import { UpstreamError } from "../errors.js";
import type { LeafRemoteConfig } from "../config/types.js";
import type { Logger } from "../obs/log.js";
import type { LocalSide, Upstream, UpstreamMatch } from "../router/types.js";
import { dialLeaf, type LeafDialOptions, type LeafDialResult } from "../transport/tls_dialer.js";
import { DEFAULTS } from "../config/defaults.js";
import { encodeConnect } from "../protocol/leaf_encode.js";
import { Backoff } from "./backoff.js";
import { readCreds, signNonce } from "./creds.js";
import { isLeafnodeInfo, parseHubInfo, type HubInfo } from "./hub_info.js";
import { HubInterest } from "./hub_interest.js";
import { Link, type LinkOwner } from "./link.js";
import { PendingBuffer } from "./pending_buffer.js";
import { JS_API_PROBE_SUBJECT, hubWithheldQueue, isHubWithheldJetStreamSubject } from "../router/reply_tracker.js";
import { RemoteUrlList, type RemoteUrl } from "./remote_urls.js";
import { HubRules, refusedSubjectOf } from "./safety.js";
import { explainFailure, type LinkFailure } from "./link_failure.js";

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
  /** The router (interest to replay, where hub messages go, who hears of refusals). */
  local: LocalSide;
  /** Observes registration (true) and loss of a registered link (false). Must not throw. */
  onStateChange?(connected: boolean): void;
  /** Deadlines in ms: TCP connect, first INFO, TLS handshake, dial-to-live. */
  timeouts?: { connect?: number; info?: number; handshake?: number; register?: number };
  /** TLS version, ciphers and curves for the link (OpenSSL names; absent = Node's defaults). */
  tlsPolicy?: LeafDialOptions["tlsPolicy"];
  /** Observes each failed attempt or lost link, explained (`check --connect`). Must not throw. */
  onFailure?(failure: LinkFailure): void;
}

/** Where a remote's link is: dialling or handshaking, registered, or waiting to retry. */
export type RemoteState = "connecting" | "connected" | "backing off" | "stopped";

/** A remote's link as an operator sees it (/varz, the status page). */
export interface RemoteStatus {
  state: RemoteState;
  /** host:port connected to, being dialled, or last dialled (null before the first attempt). */
  url: string | null;
  /**
   * Why the last attempt failed or the link was lost: the operator's sentence, its code and when
   * (ISO 8601); in worker mode also the worker whose link it was.
   */
  lastError: { text: string; code: string; at: string; worker?: number } | null;
  /** Attempts that failed since the link was last live. */
  failedAttempts: number;
  /** When the next attempt starts (ISO 8601), while backing off. */
  nextRetryAt: string | null;
}

export interface LeafConnStats {
  inMsgs: number; inBytes: number; outMsgs: number; outBytes: number;
  reconnects: number;
  bufferedMsgs: number; bufferedBytes: number;
  droppedMsgs: number; droppedBytes: number;
  /** Interest never announced (or withdrawn) because this hub refuses it. */
  refusedInterest: number;
  /** Publishes not sent because this hub refuses the subject. */
  refusedPublishes: number;
  lastError?: string;
}

export const LeafConnErrorCode = {
  WrongPort: "GW_ERR_UPSTREAM_WRONG_PORT",
  Refused: "GW_ERR_UPSTREAM_REFUSED",
} as const;

/** Go solicitors wait 30 s after these refusals, since retrying sooner repeats them. */
const LONG_BACKOFF_ERRORS = [/loop detected/i, /same cluster name/i];
const LONG_BACKOFF_MS = 30_000;
/** Subjects a hub closed us for, remembered per remote (oldest forgotten first). */
const MAX_REFUSED_SUBJECTS = 4096;

export class LeafConn implements Upstream, LinkOwner {
  readonly stats: LeafConnStats = {
    inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0, reconnects: 0,
    bufferedMsgs: 0, bufferedBytes: 0, droppedMsgs: 0, droppedBytes: 0,
    refusedInterest: 0, refusedPublishes: 0,
  };
  readonly id: string;
  private readonly log: Logger;
  private readonly local: LocalSide;
  private readonly urls: RemoteUrlList;
  private readonly backoff: Backoff;
  private readonly hub = new HubInterest();
  private readonly pending: PendingBuffer;
  private link: Link | null = null;
  private started = false;
  private stopped = false;
  private dialing: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private everConnected = false;
  private overflowLogged = false;
  private replyDropLogged = false;
  private nextDelay: number | undefined;
  /** Status for operators: the URL of the current or last attempt, the last failure, failures in a row, the next retry. */
  private attemptUrl: RemoteUrl | null = null;
  private lastFailure: { failure: LinkFailure; at: Date } | null = null;
  private failedAttempts = 0;
  private nextRetryAt: Date | null = null;
  /** Hub limits and rules, kept from the last connection. */
  private hubMaxPayload = 0;
  private hubHeaders = true;
  private rules: HubRules;
  /** Subjects this hub closed the link for (interest or publish). */
  private readonly refusedSubs = new Set<string>();
  private readonly refusedPubs = new Set<string>();

  constructor(private readonly opts: LeafConnOptions) {
    this.id = opts.remote.name;
    this.local = opts.local;
    this.log = opts.log.child({ component: "upstream", remote: opts.remote.name });
    this.urls = new RemoteUrlList(opts.remote.urls);
    this.backoff = new Backoff({ baseDelay: opts.reconnectBaseDelay, maxDelay: opts.reconnectMaxDelay });
    this.pending = new PendingBuffer(opts.bufferBytes);
    this.rules = HubRules.initial(opts.remote.jetStreamExtended !== true);
  }

  /** Registered with the hub (interest flows). */
  get connected(): boolean {
    return this.link !== null && this.link.registered;
  }

  /** Past the replay barrier: publishes go straight to the hub. */
  get live(): boolean {
    return this.link !== null && this.link.live;
  }

  /** The hub URL of the registered connection, if any (metric labels). */
  get currentUrl(): RemoteUrl | null {
    return this.link?.registered ? this.link.url : null;
  }

  /** Every URL this remote may dial: configured, then learned from the hub. */
  get knownUrls(): readonly RemoteUrl[] {
    return this.urls.all();
  }

  /** The `version` the hub stated in its INFO, while registered (what clients can use through us). */
  get hubVersion(): string | undefined {
    return this.link?.registered ? this.link.hubInfo.version : undefined;
  }

  get rttMs(): number | undefined {
    return this.link?.rttMs;
  }

  /** The hub's current interest (monitoring, tests). */
  get hubInterest(): HubInterest {
    return this.hub;
  }

  /** The connected hub's first INFO (monitoring, tests). */
  get hubInfo(): HubInfo | null {
    return this.link?.registered ? this.link.hubInfo : null;
  }

  /** State, last error, failures in a row and next retry, for /varz and the status page. */
  status(): RemoteStatus {
    const state: RemoteState = this.stopped ? "stopped" : this.connected ? "connected" : this.retryTimer !== null ? "backing off" : "connecting";
    const last = this.lastFailure;
    return {
      state,
      url: this.attemptUrl?.label ?? null,
      lastError: last === null ? null : { text: last.failure.message, code: last.failure.code, at: last.at.toISOString() },
      failedAttempts: this.failedAttempts,
      nextRetryAt: state === "backing off" && this.nextRetryAt !== null ? this.nextRetryAt.toISOString() : null,
    };
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
    this.clearRetry();
    if (this.dialing) await this.dialing;
    const link = this.link;
    if (link && !link.isClosed) {
      link.end("gateway stopping");
      const timer = setTimeout(() => link.close("gateway stopping"), 2000);
      await link.closed;
      clearTimeout(timer);
    }
  }

  refusesInterest(subject: string): boolean {
    return this.rules.refusesInterest(subject) || this.refusedSubs.has(subject);
  }

  match(subject: string): UpstreamMatch {
    return this.hub.match(subject);
  }

  setInterest(subject: string, queue: string | undefined, weight: number): void {
    const link = this.link;
    // Not registered: the full snapshot is replayed on (re)connect instead.
    if (link === null || !link.registered) return;
    this.sendInterest(link, subject, queue, weight);
  }

  /**
   * What this hub must not be sent, counted: a payload over the hub's max_payload (nats-server
   * 2.9.10 does not enforce it on inbound LMSG, so we do) or a subject the hub refuses.
   */
  private refuses(subject: string, payload: Uint8Array): boolean {
    if (this.hubMaxPayload > 0 && payload.length > this.hubMaxPayload) {
      this.countDropped(payload.length);
      return true;
    }
    if (this.rules.refusesPublish(subject) || (this.refusedPubs.size > 0 && this.refusedPubs.has(subject))) {
      this.stats.refusedPublishes++;
      return true;
    }
    return false;
  }

  forward(subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array, servedQueues: ReadonlySet<string> | null): boolean {
    if (this.refuses(subject, payload)) return false;
    const link = this.link;
    if (link !== null && link.live) return this.send(link, subject, reply, hdrLen, payload, servedQueues);
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

  forwardReply(subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array): boolean {
    if (this.refuses(subject, payload)) return false;
    const link = this.link;
    if (link !== null && link.live) return this.send(link, subject, reply, hdrLen, payload, null, true);
    // The hub's requester or consumer waits behind a link that is down: count it, say it once per outage.
    this.countDropped(payload.length);
    if (!this.replyDropLogged) {
      this.replyDropLogged = true;
      this.log.warn("dropping replies to the hub until it is back (counted as dropped upstream messages)", { subject });
    }
    return false;
  }

  // ---- connecting ----

  private attempt(): void {
    if (this.stopped) return;
    const url = this.urls.next();
    this.attemptUrl = url;
    this.nextRetryAt = null;
    const tls = this.opts.remote.tls;
    const t = { ...DEFAULTS.remote.timeouts, ...this.opts.timeouts };
    let first: HubInfo | null = null;
    this.dialing = dialLeaf({
      host: url.host,
      port: url.port,
      tlsWanted: url.tlsScheme || tls.cert !== undefined,
      tls,
      tlsPolicy: this.opts.tlsPolicy,
      connectTimeout: t.connect,
      infoTimeout: t.info,
      handshakeTimeout: t.handshake,
      checkInfo: (json) => {
        first = parseHubInfo(json);
        if (!isLeafnodeInfo(first)) {
          throw new UpstreamError(LeafConnErrorCode.WrongPort, `${url.label} is not a leafnode port (attempted to connect to wrong port)`);
        }
      },
    }).then(
      (res) => this.onDialed(url, res, first ?? parseHubInfo(res.infoJson)),
      (err: Error) => this.onFailure(url, err),
    ).finally(() => {
      this.dialing = null;
    });
  }

  private onDialed(url: RemoteUrl, res: LeafDialResult, info: HubInfo): void {
    if (this.stopped) {
      res.transport.destroy();
      return;
    }
    const link = new Link(this, url, res, info, {
      connect: (hubInfo) => this.connectLine(hubInfo, res.transport.secure),
      registerTimeout: this.opts.timeouts?.register ?? DEFAULTS.remote.timeouts.register,
      pingInterval: this.opts.pingInterval,
      pingMax: this.opts.pingMax,
    });
    this.link = link;
    this.learnInfo(link, info);
    link.begin();
  }

  private connectLine(info: HubInfo, secure: boolean): Uint8Array | string {
    let jwt: string | undefined, sig: string | undefined;
    if (this.opts.remote.credentials !== undefined) {
      try {
        const creds = readCreds(this.opts.remote.credentials);
        jwt = creds.jwt;
        sig = signNonce(creds.seed, info.nonce ?? "");
      } catch (err) {
        return (err as Error).message;
      }
    }
    return encodeConnect({
      name: this.opts.serverName,
      version: this.opts.version,
      tls_required: secure,
      headers: true,
      jwt,
      sig,
      // A hub that offers compression (2.10+) is told we do not compress, as a leaf configured "off" does.
      compress_mode: info.compression !== undefined ? "off" : undefined,
    });
  }

  linkInfo(link: Link, info: HubInfo): void {
    if (link !== this.link) return;
    this.learnInfo(link, info);
    if (info.lameDuck) this.log.info("hub entered lame duck mode", { url: link.url.label });
  }

  private learnInfo(link: Link, info: HubInfo): void {
    if (info.maxPayload > 0) this.hubMaxPayload = info.maxPayload;
    if (info.headers !== undefined) this.hubHeaders = info.headers;
    if (info.leafnodeUrls !== undefined) {
      const added = this.urls.addDiscovered(info.leafnodeUrls, link.url.tlsScheme);
      if (added > 0) this.log.debug("learned hub leafnode URLs", { urls: this.urls.all().map((u) => u.label) });
    }
  }

  /** The hub accepted CONNECT and its own interest is read: replay ours. */
  linkRegistered(link: Link, confirmation: HubInfo): void {
    if (link !== this.link) return;
    this.rules = this.rules.withGrants(confirmation.import, confirmation.export, link.hubInfo.version);
    this.urls.preferNext(link.url);
    if (this.everConnected) this.stats.reconnects++;
    this.everConnected = true;
    this.log.info("upstream connected", {
      url: link.url.label,
      hub: link.hubInfo.serverName,
      version: link.hubInfo.version,
      account: confirmation.remoteAccount,
      tls: link.transport.secure,
    });
    if (confirmation.accountIsSystem) {
      this.log.warn("the hub binds this leaf to its system account; bind it to the Choria account instead", { url: link.url.label });
    }
    for (const e of this.local.interestSnapshot()) this.sendInterest(link, e.subject, e.queue, e.weight);
    this.opts.onStateChange?.(true);
  }

  linkLive(link: Link): void {
    if (link !== this.link) return;
    // Only now: a hub that refuses our LS+ closes before this point, and must not get a fast retry.
    this.backoff.reset();
    this.failedAttempts = 0;
    this.flushPending(link);
    this.overflowLogged = false;
    this.replyDropLogged = false;
  }

  linkErr(link: Link, text: string): void {
    if (link !== this.link) return;
    this.log.warn("hub sent -ERR", { url: link.url.label, error: text });
    if (LONG_BACKOFF_ERRORS.some((re) => re.test(text))) this.nextDelay = LONG_BACKOFF_MS;
    const refused = refusedSubjectOf(text);
    if (refused !== null) this.onHubRefusal(refused.kind, refused.subject);
  }

  /**
   * The hub is closing us for one subject. Remember it, hand the refusal to
   * every local subscriber of it, and come back at the base delay: the cause
   * is gone, so the next link will hold.
   */
  private onHubRefusal(kind: "subscribe" | "publish", subject: string): void {
    const set = kind === "subscribe" ? this.refusedSubs : this.refusedPubs;
    if (set.size >= MAX_REFUSED_SUBJECTS) set.delete(set.values().next().value!);
    set.add(subject);
    let subscribers = 0;
    if (kind === "subscribe") {
      this.stats.refusedInterest++;
      const keys = [...this.local.interestSnapshot()].filter((e) => e.subject === subject);
      for (const e of keys) subscribers += this.local.refuseInterest(this, e.subject, e.queue);
    } else {
      this.stats.refusedPublishes++;
    }
    this.log.warn("hub refused a subject; refusing it locally and reconnecting without it", { kind, subject, subscribers });
    this.backoff.reset();
    this.nextDelay = this.backoff.next();
  }

  linkClosed(link: Link, reason: string, cause?: Error): void {
    if (link !== this.link) return;
    this.link = null;
    this.hub.clear();
    const wasConnected = link.hadRegistered;
    if (wasConnected) this.opts.onStateChange?.(false);
    if (this.stopped) {
      this.log.info("upstream closed", { url: link.url.label });
      return;
    }
    this.onFailure(link.url, cause ?? reason, wasConnected);
  }

  /** Explain the failure (link_failure.ts), keep it for the status, log it, and schedule the next attempt. */
  private onFailure(url: RemoteUrl, cause: Error | string, wasConnected = false): void {
    const failure = explainFailure(cause, { remote: this.opts.remote, url });
    this.stats.lastError = failure.message;
    this.lastFailure = { failure, at: new Date() };
    this.failedAttempts++;
    this.opts.onFailure?.(failure);
    if (this.stopped) return;
    const delay = this.nextDelay ?? this.backoff.next();
    this.nextDelay = undefined;
    this.nextRetryAt = new Date(Date.now() + delay);
    this.log.warn(wasConnected ? "upstream connection lost" : "upstream connect failed", {
      url: url.label, error: failure.message, code: failure.code, detail: failure.detail === failure.message ? undefined : failure.detail, retryInMs: delay,
    });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.attempt();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
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
      this.local.deliverFromUpstream(this, subject, reply, queues, hdrLen, payload);
    } catch (err) {
      // A routing bug must not take the hub link down with it.
      this.log.error("routing a hub message failed", { subject, error: err as Error });
    }
  }

  /** One interest transition, unless this hub would refuse it (then it never goes up). */
  private sendInterest(link: Link, subject: string, queue: string | undefined, weight: number): void {
    if (this.refusesInterest(subject) || this.hub.isHubLoopSubject(subject)) {
      if (weight > 0) {
        this.stats.refusedInterest++;
        this.log.warn("not announcing interest the hub refuses", { subject, queue });
      }
      return;
    }
    link.announce(subject, queue, weight);
  }

  /** LMSG/HMSG only when the hub wants it (or `unadvertised`: a tracked reply); name the hub's groups that nobody served yet. */
  private send(
    link: Link, subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array,
    served: ReadonlySet<string> | null, unadvertised = false,
  ): boolean {
    const m = this.hub.match(subject);
    let queues = m.queues;
    if (served !== null && queues.length > 0) queues = queues.filter((q) => !served.has(q));
    const jsQueue = hubWithheldQueue(subject);
    if (jsQueue !== null && !queues.includes(jsQueue) && this.hubOffersJetStream()) queues = [...queues, jsQueue];
    if (!m.plain && queues.length === 0 && !unadvertised && !this.hubWithholds(subject)) return false;
    if (hdrLen > 0 && !this.hubHeaders) {
      payload = payload.subarray(hdrLen); // a hub without headers gets the body only
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

  /** A JetStream subject the hub takes but never advertises to a leafnode (router/reply_tracker.ts). */
  private hubWithholds(subject: string): boolean {
    return isHubWithheldJetStreamSubject(subject) && this.hubOffersJetStream();
  }

  private hubOffersJetStream(): boolean {
    return this.hub.match(JS_API_PROBE_SUBJECT).plain;
  }

  private flushPending(link: Link): void {
    const n = this.pending.length;
    if (n === 0) return;
    let sent = 0;
    for (let m = this.pending.shift(); m !== undefined; m = this.pending.shift()) {
      if (this.rules.refusesPublish(m.subject) || this.refusedPubs.has(m.subject)) {
        this.stats.refusedPublishes++;
        continue;
      }
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
}
