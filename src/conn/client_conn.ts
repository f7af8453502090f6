/**
 * One client connection, whatever its transport (anonymous TLS or WebSocket):
 * AWAIT_CONNECT → AUTHENTICATING → OPEN → CLOSED. It sends INFO with a fresh
 * nonce, hands CONNECT to the authenticator (and nothing else: no op is
 * processed before the caller is verified), then asks the caller's policy
 * (auth/caller_policy.ts) about every PUB, SUB and delivery and enforces the
 * verdict (it decides nothing itself), keeps the
 * PING/PONG and token-expiry clocks, and closes with a named reason. The
 * router sees it only as a Subscriber.
 */
import { randomBytes } from "node:crypto";
import { AuthError, ProtocolError } from "../errors.js";
import { Delivery } from "../auth/caller_policy.js";
import type { AuthInput, Identity } from "../auth/types.js";
import {
  checkJsRequest, consumerCreatePermissionSubject, isCheckedJsRequest, unmapDeliverSubjects,
} from "../auth/jetstream.js";
import { checkHubHeaders } from "../auth/hub_headers.js";
import { JsAnswerGrants } from "../auth/js_answers.js";
import { USER_INFO_SUBJECT, userInfoResponse, type AnsweringServer } from "../auth/user_info.js";
import { ClientParser, type ClientOpSink } from "../protocol/client_parser.js";
import { encodeErr, encodeInfo, MsgHead, NO_RESPONDERS_HEADER, OK, PING, PONG } from "../protocol/encode.js";
import { WireText, pubViolation, replyViolation, subViolation } from "../protocol/wire_text.js";
import type { Subscriber, Subscription } from "../router/types.js";
import { isValidSubject } from "../subject/subject.js";
import type { Transport } from "../transport/transport.js";
import type { Logger } from "../obs/log.js";
import { CloseReasons, transportCloseReason, type CloseReason } from "./close_reason.js";
import type { ConnContext } from "./context.js";
import { Outbound } from "./outbound.js";
import { parseConnectOptions, type ConnectOptions } from "./connect_options.js";

/** The grants of a connection no consumer has delivered to yet: none. */
const NO_JS_ANSWERS = new JsAnswerGrants();

export const ConnState = { AwaitConnect: 0, Authenticating: 1, Open: 2, Closed: 3 } as const;
export type ConnState = (typeof ConnState)[keyof typeof ConnState];

/** A subscription as a connection keeps it (router fields plus delivery bookkeeping). */
interface ClientSubscription extends Subscription {
  /** Subject as the client wrote it (before reply-namespace mapping). */
  readonly clientSubject: string;
  /** Routed under a mapped subject: deliveries are mapped back (`<ns>._INBOX.x` → `_INBOX.x`). */
  readonly rewritten: boolean;
  delivered: number;
  max: number;
  /** `<subject> <sid> ` of its MSG lines while deliveries repeat a subject. */
  readonly head: MsgHead;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

let nextCid = 1;
let cidStep = 1;

/**
 * Worker mode: worker `first` of `step` numbers its connections first,
 * first+step, … so client ids stay unique across the workers' /connz.
 */
export function setCidSpace(first: number, step: number): void {
  nextCid = first;
  cidStep = step;
}

export class ClientConn implements Subscriber, ClientOpSink {
  readonly cid = (nextCid += cidStep) - cidStep;
  readonly connectedAt = new Date();
  /** Last bytes received, ms since the epoch (nats-server's last_activity: per read, not per message). */
  lastActivityAt = this.connectedAt.getTime();
  /**
   * Round trip in ms as nats-server measures it: estimated from accept to
   * CONNECT, then from each of our PINGs to the client's PONG; 0 before CONNECT.
   */
  rttMs = 0;
  /** When close() ran, ms since the epoch (0 while open). */
  closedAt = 0;
  readonly nonce = randomBytes(11).toString("base64url");
  state: ConnState = ConnState.AwaitConnect;
  identity: Identity | null = null;
  options: ConnectOptions | null = null;
  inMsgs = 0;
  inBytes = 0;

  private readonly parser: ClientParser;
  private readonly out: Outbound;
  private readonly subs = new Map<string, ClientSubscription>();
  private log: Logger;
  private stash: Uint8Array[] = [];
  private authInput: AuthInput | null = null;
  private authTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private pingsOut = 0;
  /** performance.now() when our last PING went out (0: none outstanding). */
  private pingSentAt = 0;
  private readonly acceptedAt = performance.now();
  private closeReason: CloseReason | null = null;
  /** The caller id whose connection slot this connection holds. */
  private slotOf: string | null = null;
  /** JetStream consumers that delivered here, so this connection may acknowledge them (auth/js_answers.ts); made on the first. */
  private jsAnswers: JsAnswerGrants | null = null;
  private readonly upstreamRefuses = (subject: string): boolean => this.ctx.router.upstreamRefuses(subject);

  constructor(
    readonly transport: Transport,
    private readonly ctx: ConnContext,
  ) {
    const s = ctx.settings;
    this.log = ctx.log.child({ cid: this.cid, remote: transport.remoteAddress, transport: transport.kind });
    this.parser = new ClientParser(this, {
      maxControlLine: s.maxControlLine,
      maxConnectLine: s.maxConnectLine,
      maxPayload: s.maxPayload,
    });
    this.out = new Outbound(transport, {
      maxPending: s.maxPending,
      writeDeadline: s.writeDeadline,
      onSlowConsumer: (why) =>
        this.close(why === "pending_bytes" ? CloseReasons.SlowConsumerPending : CloseReasons.SlowConsumerDeadline),
    });
    ctx.counters.totalConnections++;
    transport.onData((chunk) => this.onData(chunk));
    transport.onClose((err) => {
      if (err) this.log.debug("transport closed with error", { error: err });
      this.close(transportCloseReason(err, this.state === ConnState.Open));
    });
    this.out.writeRaw(encodeInfo(this.infoObject()));
    this.out.flush();
    this.authTimer = setTimeout(() => this.close(CloseReasons.AuthTimeout), s.authTimeout);
  }

  /** Refuse a connection over the limit: INFO was sent, then the nats-server text. */
  rejectMaxConnections(): void {
    this.close(CloseReasons.MaxConnections);
  }

  get callerId(): string | null {
    return this.identity?.callerId ?? null;
  }

  get pendingBytes(): number {
    return this.out.pendingBytes;
  }

  get outMsgs(): number {
    return this.out.outMsgs;
  }

  get outBytes(): number {
    return this.out.outBytes;
  }

  get subscriptionCount(): number {
    return this.subs.size;
  }

  /** The live subscriptions, read-only (for /subsz); once closed, those it had when it closed (for /connz?state=closed). */
  subscriptionList(): readonly Readonly<ClientSubscription>[] {
    return [...this.subs.values()];
  }

  // ---- inbound bytes ----

  private onData(chunk: Uint8Array): void {
    if (this.state === ConnState.Closed) return;
    this.lastActivityAt = Date.now();
    if (this.state === ConnState.Authenticating) {
      this.stash.push(chunk);
      return;
    }
    this.parseChunk(chunk);
  }

  private parseChunk(chunk: Uint8Array): void {
    let offset = 0;
    try {
      while (offset < chunk.length && this.state !== ConnState.Closed) {
        offset += this.parser.parse(offset === 0 ? chunk : chunk.subarray(offset));
        if (this.state === ConnState.Authenticating) {
          // CONNECT stops the parser: keep the rest until the caller is verified.
          if (offset < chunk.length) this.stash.push(Buffer.from(chunk.subarray(offset)));
          return;
        }
      }
    } catch (err) {
      this.onProtocolError(err);
    }
  }

  private onProtocolError(err: unknown): void {
    if (!(err instanceof ProtocolError)) {
      this.log.error("internal error while processing client data", { error: err });
      this.close(CloseReasons.ParseError);
      return;
    }
    this.log.debug("protocol error", { error: err.message, code: err.code });
    switch (err.code) {
      case "GW_ERR_MAX_CONTROL_LINE":
        return this.close(CloseReasons.MaxControlLine);
      case "GW_ERR_MAX_PAYLOAD":
        return this.close(CloseReasons.MaxPayload);
      case "GW_ERR_BAD_ARGS":
        return this.close(CloseReasons.BadArguments);
      case "GW_ERR_FOREIGN_PROTOCOL":
        this.refuse("GW_ERR_FOREIGN_PROTOCOL", "route/gateway/leafnode protocol on the client port");
        return this.close(CloseReasons.ForeignOp);
      case "GW_ERR_CLIENT_ERR":
        return this.close(CloseReasons.ClientError);
      default:
        return this.close(CloseReasons.ParseError);
    }
  }

  // ---- ClientOpSink: called by the parser, synchronously ----

  connect(json: string): void {
    if (this.state !== ConnState.AwaitConnect) return; // a second CONNECT changes nothing
    const parsed = parseConnectOptions(json);
    if (!parsed.ok) {
      this.refuse(parsed.code, parsed.reason);
      return this.close(parsed.close);
    }
    const o = parsed.options;
    this.options = o;
    this.rttMs = performance.now() - this.acceptedAt;
    this.log = this.log.child({ name: o.name || undefined, lang: o.lang || undefined });
    this.authInput = {
      authToken: o.authToken,
      jwt: o.jwt,
      sig: o.sig,
      nonce: this.nonce,
      secure: this.transport.secure,
      remote: this.transport.remoteAddress,
      user: o.user,
      name: o.name,
    };
    this.state = ConnState.Authenticating;
    this.transport.pause();
    const started = process.hrtime.bigint();
    this.ctx.authenticator.authenticate(this.authInput).then(
      (identity) => {
        this.ctx.observeAuthSeconds?.(Number(process.hrtime.bigint() - started) / 1e9);
        this.onAuthenticated(identity);
      },
      (err) => {
        this.ctx.observeAuthSeconds?.(Number(process.hrtime.bigint() - started) / 1e9);
        if (this.state === ConnState.Closed) return;
        const code = err instanceof AuthError ? err.code : "GW_ERR_AUTH_INTERNAL";
        const reason = err instanceof AuthError ? err.reason : `internal error: ${String(err)}`;
        if (!(err instanceof AuthError)) this.log.error("authenticator failed", { error: err });
        this.refuse(code, reason);
        this.close(CloseReasons.AuthViolation);
      },
    );
  }

  pub(subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array): void {
    if (!this.requireOpen()) return;
    const id = this.identity!;
    const policy = id.policy;
    const o = this.options!;
    this.inMsgs++;
    this.inBytes += payload.length;
    if (hdrLen >= 0 && !o.headers) return this.close(CloseReasons.HeadersNotNegotiated);
    // The body of some JetStream requests names subjects too (auth/jetstream.ts).
    const jsChecked = isCheckedJsRequest(subject);
    // A consumer filter may put wildcards into a consumer-create subject.
    const checked = jsChecked ? consumerCreatePermissionSubject(subject) : subject;
    if (!policy.mayPublish(checked)) return this.violation("publish", subject, pubViolation(subject));
    // A JetStream ack or flow-control answer only to a consumer that delivered here (auth/js_answers.ts).
    if (subject.charCodeAt(0) === 0x24 && !(this.jsAnswers ?? NO_JS_ANSWERS).mayAnswer(subject)) {
      this.log.info("JetStream answer refused", { subject, why: "its consumer never delivered to this connection" });
      return this.violation("publish", subject, pubViolation(subject));
    }
    let routedReply = reply;
    if (reply !== undefined) {
      const mapped = policy.routePublishReply(reply);
      if (mapped === null) return this.violation("reply", reply, replyViolation(reply));
      if (mapped !== reply) this.ctx.counters.rewrittenInboxes++;
      routedReply = mapped;
    }
    if (subject === USER_INFO_SUBJECT && routedReply !== undefined) {
      // A request answered here: only the gateway knows this caller (src/auth/user_info.ts).
      if (o.verbose) this.out.writeRaw(OK);
      return this.answerOwnReply(routedReply, userInfoResponse(id, this.answeringServer()));
    }
    if (hdrLen > 0) {
      // Trace and schedule headers make the hub act on the caller's behalf (auth/hub_headers.ts).
      const t = checkHubHeaders(hdrLen, payload, policy);
      if (t.action === "refuse") {
        this.log.info("publish header refused", { subject, header: t.subject, why: t.why });
        return this.violation("publish", t.subject, pubViolation(t.subject));
      }
      if (t.action === "rewrite") {
        hdrLen += t.payload.length - payload.length;
        payload = t.payload;
        this.ctx.counters.rewrittenInboxes++;
      }
    }
    if (jsChecked) {
      const v = checkJsRequest(subject, hdrLen, payload, policy);
      if (v.action === "refuse") {
        this.log.info("JetStream request refused", { subject, why: v.why });
        return this.violation("publish", subject, pubViolation(subject));
      }
      if (v.action === "rewrite") {
        payload = v.payload;
        this.ctx.counters.rewrittenInboxes++;
      }
    }
    if (o.verbose) this.out.writeRaw(OK);
    const delivered = this.ctx.router.publish(this, o.echo, subject, routedReply, hdrLen, payload);
    if (delivered === 0 && routedReply !== undefined && o.noResponders) this.sendNoResponders(routedReply);
  }

  sub(subject: string, queue: string | undefined, sid: string): void {
    if (!this.requireOpen()) return;
    const policy = this.identity!.policy;
    if (!isValidSubject(subject)) return this.sendErr(WireText.InvalidSubject);
    if (this.subs.has(sid)) return this.ackVerbose(); // nats-server ignores a reused sid
    const max = this.ctx.settings.maxSubscriptions;
    if (max > 0 && this.subs.size >= max) return this.sendErr(WireText.MaxSubscriptions);
    // The hubs' refusals are a fact the policy weighs: a SUB every hub would refuse never goes up.
    const routed = policy.routeSubscribe(subject, queue, this.upstreamRefuses);
    if (routed === null) return this.violation("subscribe", subject, subViolation(subject, queue), queue);
    const rewritten = routed !== subject;
    if (rewritten) this.ctx.counters.rewrittenInboxes++;
    const s: ClientSubscription = { subject: routed, queue, sid, owner: this, clientSubject: subject, rewritten, delivered: 0, max: 0, head: new MsgHead(sid) };
    this.subs.set(sid, s);
    this.ctx.router.subscribe(s);
    this.ackVerbose();
  }

  unsub(sid: string, max: number | undefined): void {
    if (!this.requireOpen()) return;
    const s = this.subs.get(sid);
    if (s) {
      if (max !== undefined && max > 0 && s.delivered < max) s.max = max;
      else this.removeSub(s);
    }
    this.ackVerbose();
  }

  ping(): void {
    if (!this.requireOpen()) return;
    this.out.writeRaw(PONG);
  }

  pong(): void {
    if (!this.requireOpen()) return;
    this.pingsOut = 0;
    if (this.pingSentAt > 0) this.rttMs = performance.now() - this.pingSentAt;
    this.pingSentAt = 0;
  }

  // ---- Subscriber: called by the router ----

  deliver(sub: Subscription, subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array, stored?: string): boolean {
    if (this.state !== ConnState.Open) return false;
    const s = sub as ClientSubscription;
    const policy = this.identity!.policy;
    const verdict = policy.deliver(subject, s.rewritten);
    // A stored message inside a hub answer is read as if delivered on its own subject.
    if (verdict !== Delivery.Ok || (stored !== undefined && policy.deliver(stored, false) !== Delivery.Ok)) {
      if (verdict === Delivery.Lifecycle) this.ctx.counters.lifecycleFiltered++;
      return false;
    }
    let body = payload;
    let hdr = hdrLen;
    if (hdr >= 0 && !this.options!.headers) {
      body = payload.subarray(hdr);
      hdr = -1;
    }
    if (s.rewritten) {
      // A JetStream answer naming a deliver subject we rewrote shows the client's own (auth/jetstream.ts).
      const unmapped = unmapDeliverSubjects(hdr, body, policy.prefixDot);
      if (unmapped !== null) body = unmapped;
    }
    const head = s.head.get(subject);
    if (head !== null) {
      if (!this.out.writeMsgFromHead(head, reply, hdr, body)) return false;
    } else {
      const shown = s.rewritten ? policy.clientSubject(subject) : subject;
      s.head.note(subject, shown);
      if (!this.out.writeMsg(shown, s.sid, reply, hdr, body)) return false;
    }
    if (reply !== undefined && reply.charCodeAt(0) === 0x24) (this.jsAnswers ??= new JsAnswerGrants()).noteDelivery(reply);
    s.delivered++;
    if (s.max > 0 && s.delivered >= s.max) this.removeSub(s);
    return true;
  }

  // ---- lifecycle ----

  private onAuthenticated(identity: Identity): void {
    if (this.state === ConnState.Closed) return;
    const slots = this.ctx.callerSlots;
    if (slots) {
      if (!slots.acquire(identity.callerId)) {
        this.refuse("GW_ERR_MAX_CALLER_CONNECTIONS", `caller ${JSON.stringify(identity.callerId)} already holds ${slots.limit} connections`);
        return this.close(CloseReasons.MaxCallerConnections);
      }
      this.slotOf = identity.callerId;
    }
    this.identity = identity;
    this.state = ConnState.Open;
    this.transport.loggedIn?.();
    this.clearTimer("authTimer");
    this.log = this.log.child({ caller: identity.callerId });
    this.ctx.counters.bump(this.ctx.counters.authOutcomes, "ok");
    this.ctx.audit.connect({
      cid: this.cid,
      remote: this.transport.remoteAddress,
      callerId: identity.callerId,
      method: identity.method,
      expiresAt: Number.isFinite(identity.expiresAt) ? new Date(identity.expiresAt).toISOString() : null,
      transport: this.transport.kind,
    });
    this.armExpiry();
    this.pingTimer = setInterval(() => this.onPingTick(), this.ctx.settings.pingInterval);
    this.pingTimer.unref?.();
    if (this.options!.verbose) this.out.writeRaw(OK);
    const pending = this.stash;
    this.stash = [];
    for (const chunk of pending) {
      if (this.state !== ConnState.Open) break;
      this.parseChunk(chunk);
    }
    if (this.state === ConnState.Open) this.transport.resume();
  }

  /**
   * Re-check this caller after a reload: re-run authentication on the same
   * CONNECT (same nonce), and close if the token no longer verifies or a live
   * subscription is no longer allowed. Only meaningful in OPEN.
   */
  async reauthenticate(): Promise<void> {
    if (this.state !== ConnState.Open || !this.authInput) return;
    let identity: Identity;
    try {
      identity = await this.ctx.authenticator.authenticate(this.authInput);
    } catch (err) {
      if (this.state !== ConnState.Open) return;
      this.refuse(err instanceof AuthError ? err.code : "GW_ERR_AUTH_INTERNAL", `after reload: ${err instanceof Error ? err.message : String(err)}`);
      return this.close(CloseReasons.PermissionsRevoked);
    }
    if (this.state !== ConnState.Open) return;
    for (const s of this.subs.values()) {
      if (identity.policy.routeSubscribe(s.clientSubject, s.queue) !== s.subject) {
        this.refuse("GW_ERR_PERMISSIONS_SHRANK", `after reload: subscription to "${s.clientSubject}" no longer allowed`);
        return this.close(CloseReasons.PermissionsRevoked);
      }
    }
    this.identity = identity;
    this.clearTimer("expiryTimer");
    this.armExpiry();
  }

  /** Lame duck mode: tell protocol-1 clients (INFO ldm) so they can move early. */
  sendLameDuckInfo(): void {
    if (this.state !== ConnState.Open || (this.options?.protocol ?? 0) < 1) return;
    this.out.writeRaw(encodeInfo({ ...this.infoObject(), nonce: undefined, ldm: true }));
  }

  /** Close with a reason: send its `-ERR` text if any, flush unless told not to, release everything. */
  close(reason: CloseReason): void {
    if (this.state === ConnState.Closed) return;
    const wasOpen = this.state === ConnState.Open;
    this.state = ConnState.Closed;
    this.closeReason = reason;
    this.closedAt = Date.now();
    this.clearTimer("authTimer");
    this.clearTimer("expiryTimer");
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    // The map is kept (nothing is routed to it any more) so /connz can show what a closed connection had.
    for (const s of this.subs.values()) this.ctx.router.unsubscribe(s);
    if (this.slotOf !== null) this.ctx.callerSlots?.release(this.slotOf);
    this.slotOf = null;
    this.stash = [];
    if (reason.wire) this.out.writeRaw(encodeErr(reason.wire));
    if (reason.flush) this.out.flush();
    this.out.close();
    if (reason.flush) this.transport.end(reason.wsCode, reason.wire ?? reason.label);
    else this.transport.destroy();
    const c = this.ctx.counters;
    c.bump(c.closeReasons, reason.label);
    if (reason === CloseReasons.SlowConsumerPending || reason === CloseReasons.SlowConsumerDeadline) {
      c.slowConsumers++;
      this.log.warn("slow consumer closed", { reason: reason.label, pending: this.out.pendingBytes });
    }
    if (reason === CloseReasons.AuthTimeout) this.refuse("GW_ERR_AUTH_TIMEOUT", "no CONNECT within the auth timeout");
    c.closedInMsgs += this.inMsgs;
    c.closedInBytes += this.inBytes;
    c.closedOutMsgs += this.out.outMsgs;
    c.closedOutBytes += this.out.outBytes;
    if (wasOpen || this.identity) {
      this.ctx.audit.disconnect({
        cid: this.cid,
        remote: this.transport.remoteAddress,
        callerId: this.callerId,
        reason: reason.label,
        inMsgs: this.inMsgs,
        outMsgs: this.out.outMsgs,
        durationMs: Date.now() - this.connectedAt.getTime(),
      });
    }
    this.ctx.onClosed(this);
  }

  get closedBecause(): string | null {
    return this.closeReason?.label ?? null;
  }

  /** nats-server's text for why it closed (the `reason` /connz shows), or null while open. */
  get closedBecauseText(): string | null {
    return this.closeReason?.text ?? null;
  }

  // ---- helpers ----

  private requireOpen(): boolean {
    if (this.state === ConnState.Open) return true;
    if (this.state === ConnState.AwaitConnect) {
      // Auth is always required: any first op other than CONNECT is refused (nats-server).
      this.refuse("GW_ERR_AUTH_NO_CONNECT", "operation before CONNECT");
      this.close(CloseReasons.AuthViolation);
    }
    return false;
  }

  private ackVerbose(): void {
    if (this.options?.verbose) this.out.writeRaw(OK);
  }

  private sendErr(text: string): void {
    this.out.writeRaw(encodeErr(text));
  }

  private violation(kind: "publish" | "subscribe" | "reply", subject: string, text: string, queue?: string): void {
    const c = this.ctx.counters;
    c.violations[kind] = (c.violations[kind] ?? 0) + 1;
    this.ctx.audit.violation({ cid: this.cid, remote: this.transport.remoteAddress, callerId: this.callerId ?? "", kind, subject, queue });
    this.sendErr(text);
  }

  private refuse(code: string, reason: string): void {
    this.ctx.counters.bump(this.ctx.counters.authOutcomes, code);
    this.ctx.audit.refused({ cid: this.cid, remote: this.transport.remoteAddress, reason, code, callerId: this.callerId ?? undefined });
  }

  /** A hub refused this subscription after it was accepted: answer as for a refused SUB, then drop it. */
  refuseSubscription(sub: Subscription): void {
    const s = sub as ClientSubscription;
    if (this.state !== ConnState.Open || this.subs.get(s.sid) !== s) return;
    this.violation("subscribe", s.clientSubject, subViolation(s.clientSubject, s.queue), s.queue);
    this.removeSub(s);
  }

  private removeSub(s: ClientSubscription): void {
    this.subs.delete(s.sid);
    this.ctx.router.unsubscribe(s);
  }

  /** No-responders (docs/protocol.md#no-responders): a 503 status to the publisher's own subscription matching the reply. */
  private sendNoResponders(reply: string): void {
    this.answerOwnReply(reply, NO_RESPONDERS_HEADER, NO_RESPONDERS_HEADER.length);
  }

  /** A message from the gateway itself to the publisher's own subscription matching `reply`. */
  private answerOwnReply(reply: string, payload: Uint8Array, hdrLen = -1): void {
    const own = this.ctx.router.findOwnSubscription(this, reply) as ClientSubscription | undefined;
    if (!own) return;
    const shown = own.rewritten ? this.identity!.policy.clientSubject(reply) : reply;
    this.out.writeMsg(shown, own.sid, undefined, hdrLen, payload);
  }

  private answeringServer(): AnsweringServer {
    const srv = this.ctx.server;
    return { name: srv.serverName, host: srv.host, id: srv.serverId, version: srv.version };
  }

  private onPingTick(): void {
    if (this.state !== ConnState.Open) return;
    if (this.pingsOut + 1 > this.ctx.settings.pingMax) return this.close(CloseReasons.StaleConnection);
    this.pingsOut++;
    this.pingSentAt = performance.now();
    this.out.writeRaw(PING);
  }

  private armExpiry(): void {
    const at = this.identity!.expiresAt;
    if (!Number.isFinite(at)) return;
    const wait = at - Date.now();
    if (wait <= 0) return this.close(CloseReasons.AuthExpired);
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = null;
      if (Date.now() >= at) this.close(CloseReasons.AuthExpired);
      else this.armExpiry();
    }, Math.min(wait, MAX_TIMER_MS));
    this.expiryTimer.unref?.();
  }

  private clearTimer(name: "authTimer" | "expiryTimer"): void {
    const t = this[name];
    if (t) clearTimeout(t);
    this[name] = null;
  }

  private infoObject(): Record<string, unknown> {
    const srv = this.ctx.server;
    return {
      server_id: srv.serverId,
      server_name: srv.serverName,
      version: srv.version,
      aaa_leafnode_version: srv.gatewayVersion,
      proto: 1,
      host: srv.host,
      port: srv.port,
      headers: true,
      auth_required: true,
      tls_required: this.transport.kind === "tls" ? true : undefined,
      max_payload: this.ctx.settings.maxPayload,
      client_id: this.cid,
      client_ip: this.transport.remoteAddress,
      nonce: this.nonce,
    };
  }
}

