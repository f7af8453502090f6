/**
 * One upgraded WebSocket seen as a `Transport`: a byte pipe. Every inbound data
 * message, text or binary, is handed to onData as bytes (NATS ops may be split
 * across messages or share one; the parser above copes), and every outbound
 * write becomes one binary frame, as nats-server does (docs/protocol.md#frames).
 * `ws` does the framing, masking checks, UTF-8 checks on text, control frames
 * and permessage-deflate; this class adds the Transport contract: a high-water
 * mark with onDrain, pause/resume that holds messages already parsed, a single
 * onClose that carries the protocol violation (if any) as a typed error, and a
 * liveness flag for the listener's WebSocket ping sweep.
 *
 * Before login a WebSocket may hold no more than the TLS port lets a client
 * hold (docs/isolation.md#before-login): `ws` is created with the listener's
 * pre-login receive limits (a message of about a CONNECT line, inflated and
 * across fragments, and few fragments and buffered chunks), and loggedIn()
 * raises them to the limits after login. `ws` takes those limits only as
 * constructor options, so loggedIn() sets the fields its receiver and its
 * permessage-deflate extension read on every frame (ws 8.x; the unit test
 * test/unit/transport/ws_prelogin.test.ts fails if they move).
 */
import type { Socket } from "node:net";
import { WebSocket, type RawData } from "ws";
import { GatewayError } from "../errors.js";
import type { Transport } from "./transport.js";

/** Why a WebSocket was closed for misbehaving after the upgrade; keys of `stats.violations`. */
export const WsViolation = {
  MessageTooLarge: "message_too_large",
  TooManyFragments: "too_many_fragments",
  InvalidUtf8: "invalid_utf8",
  UnmaskedFrame: "unmasked_frame",
  Protocol: "protocol_error",
  PingTimeout: "ping_timeout",
} as const;
export type WsViolationName = (typeof WsViolation)[keyof typeof WsViolation];

/** A WebSocket-level failure, passed to onClose. `closeCode` is the RFC 6455 status sent. */
export class WsTransportError extends GatewayError {
  readonly violation: WsViolationName;
  readonly closeCode: number;
  constructor(code: string, violation: WsViolationName, closeCode: number, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.violation = violation;
    this.closeCode = closeCode;
  }
}

/** Maps a `ws` receiver error (its `code` property) to our violation and error code. */
export function violationFromWsError(err: Error): WsTransportError {
  const wsCode = (err as { code?: unknown }).code;
  switch (wsCode) {
    case "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH":
    case "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH":
      return new WsTransportError("GW_ERR_WS_MESSAGE_TOO_LARGE", WsViolation.MessageTooLarge, 1009, err.message, { cause: err });
    case "WS_ERR_TOO_MANY_BUFFERED_PARTS":
      return new WsTransportError("GW_ERR_WS_TOO_MANY_FRAGMENTS", WsViolation.TooManyFragments, 1009, err.message, { cause: err });
    case "WS_ERR_INVALID_UTF8":
      return new WsTransportError("GW_ERR_WS_INVALID_UTF8", WsViolation.InvalidUtf8, 1007, err.message, { cause: err });
    case "WS_ERR_EXPECTED_MASK":
      return new WsTransportError("GW_ERR_WS_UNMASKED_FRAME", WsViolation.UnmaskedFrame, 1002, err.message, { cause: err });
    default:
      return new WsTransportError("GW_ERR_WS_PROTOCOL", WsViolation.Protocol, 1002, err.message, { cause: err });
  }
}

/** What `ws` holds for one message at most: its length (inflated, all fragments), fragments, and raw chunks waiting for a frame to complete. */
export interface WsReceiveLimits {
  maxPayload: number;
  maxFragments: number;
  maxBufferedChunks: number;
}

/** The fields of `ws` (8.x) that hold its receive limits; see the file comment. */
interface WsInternals {
  _receiver?: { _maxPayload?: number; _maxFragments?: number; _maxBufferedChunks?: number } | null;
  _extensions?: Record<string, { _maxPayload?: number }>;
}

/** Sets the receive limits of an open WebSocket; false when `ws` does not hold them where expected. */
export function setReceiveLimits(ws: WebSocket, limits: WsReceiveLimits): boolean {
  const internals = ws as unknown as WsInternals;
  const r = internals._receiver;
  if (r == null || typeof r._maxPayload !== "number" || typeof r._maxFragments !== "number" || typeof r._maxBufferedChunks !== "number") return false;
  r._maxPayload = limits.maxPayload;
  r._maxFragments = limits.maxFragments;
  r._maxBufferedChunks = limits.maxBufferedChunks;
  const deflate = internals._extensions?.["permessage-deflate"];
  if (deflate !== undefined) {
    if (typeof deflate._maxPayload !== "number") return false;
    deflate._maxPayload = limits.maxPayload;
  }
  return true;
}

/** What the transport tells its listener (stats, bookkeeping). */
export interface WsTransportHooks {
  violation(transport: WsTransport, err: WsTransportError): void;
  closed(transport: WsTransport): void;
  /** The receive limits once the peer has logged in (`ws` was created with the pre-login ones). */
  readonly afterLogin: WsReceiveLimits;
  /** loggedIn() could not raise the limits (a `ws` whose internals moved): the pre-login ones stay. */
  limitsStuck(transport: WsTransport): void;
}

// One shared options object: `ws` copies it, so nothing is allocated per write here.
const sendBinary = { binary: true } as const;

// RFC 6455 section 5.5: a close frame body is at most 125 bytes, 2 of them the code.
const maxCloseReasonBytes = 123;

export class WsTransport implements Transport {
  readonly kind = "websocket" as const;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly secure: boolean;

  /** Set by any inbound message or pong; the ping sweep clears it. */
  alive = true;

  private dataCb: ((chunk: Uint8Array) => void) | null = null;
  private drainCb: (() => void) | null = null;
  private closeCb: ((err?: Error) => void) | null = null;
  /** Messages `ws` parsed while we were paused (or before onData was set). */
  private held: Buffer[] | null = null;
  private paused = false;
  private needDrain = false;
  private closed = false;
  private failure: WsTransportError | undefined;

  constructor(
    private readonly ws: WebSocket,
    socket: Socket,
    secure: boolean,
    private readonly highWaterMark: number,
    private readonly hooks: WsTransportHooks,
  ) {
    this.remoteAddress = socket.remoteAddress ?? "";
    this.remotePort = socket.remotePort ?? 0;
    this.secure = secure;
    ws.on("message", (data: RawData) => {
      this.alive = true;
      // binaryType is "nodebuffer": `ws` always hands over one Buffer per message.
      this.deliver(data as Buffer);
    });
    ws.on("pong", () => {
      this.alive = true;
    });
    ws.on("error", (err: Error) => {
      // `ws` has already started the close with the matching status code.
      this.fail(violationFromWsError(err));
    });
    ws.on("close", () => this.finish());
  }

  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  write(chunk: Uint8Array, written?: () => void): boolean {
    // After close starts the bytes have nowhere to go; onClose is coming.
    if (this.ws.readyState !== WebSocket.OPEN) return true;
    const below = this.ws.bufferedAmount + chunk.length < this.highWaterMark;
    if (below && !this.needDrain) {
      // `ws` calls back once the frame reached the socket (or failed): the chunk is free then.
      this.ws.send(chunk, sendBinary, written);
      return true;
    }
    // Over the mark, or waiting for a drain: every frame carries the callback.
    // Frames are written in order, so when the last one's fires everything
    // before it has reached the kernel and the check below cannot miss.
    this.needDrain = true;
    this.ws.send(
      chunk,
      sendBinary,
      written === undefined
        ? this.afterSlowSend
        : (err?: Error) => {
            this.afterSlowSend(err);
            written();
          },
    );
    return below;
  }

  /** One frame for the whole batch, so a flush is one WebSocket message. */
  writev(chunks: Uint8Array[], written?: () => void): boolean {
    if (chunks.length === 1) return this.write(chunks[0]!, written);
    if (chunks.length === 0) {
      written?.();
      return this.ws.bufferedAmount < this.highWaterMark;
    }
    const ok = this.write(Buffer.concat(chunks));
    // The frame is a copy: the chunks are free again.
    written?.();
    return ok;
  }

  loggedIn(): void {
    if (!setReceiveLimits(this.ws, this.hooks.afterLogin)) this.hooks.limitsStuck(this);
  }

  pause(): void {
    this.paused = true;
    this.ws.pause();
  }

  resume(): void {
    this.paused = false;
    this.ws.resume();
    this.releaseHeld();
  }

  /**
   * Sends a close frame after everything queued, then closes. Extension beyond
   * Transport: `code` defaults to 1000; pass 1001 "Server Shutdown" when the
   * gateway is stopping, or another RFC 6455 code (1008 policy, 1009 too big).
   * `reason` is truncated to fit a control frame. An invalid code terminates.
   */
  end(code = 1000, reason = ""): void {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return;
    // The peer's answering close frame must be read for the close handshake to
    // finish; a paused socket (the connection pauses while authenticating, and
    // a refused CONNECT ends it there) would hold it for closeTimeout. `paused`
    // stays set, so data messages still arriving are held, never delivered.
    if (this.paused) this.ws.resume();
    try {
      this.ws.close(code, truncateUtf8(reason, maxCloseReasonBytes));
    } catch {
      this.ws.terminate();
    }
  }

  destroy(): void {
    if (!this.closed) this.ws.terminate();
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.dataCb = cb;
    if (this.held !== null) queueMicrotask(() => this.releaseHeld());
  }

  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }

  onClose(cb: (err?: Error) => void): void {
    if (this.closed) {
      const err = this.failure;
      queueMicrotask(() => cb(err));
      return;
    }
    this.closeCb = cb;
  }

  /**
   * Called by the listener's ping sweep. Returns false (and terminates) when
   * the peer answered nothing since the previous sweep: a dead peer holds a
   * socket and its buffers forever otherwise.
   */
  pingSweep(): boolean {
    if (this.closed) return true;
    if (!this.alive) {
      this.fail(new WsTransportError("GW_ERR_WS_PING_TIMEOUT", WsViolation.PingTimeout, 1006, "no pong from WebSocket peer"));
      this.ws.terminate();
      return false;
    }
    this.alive = false;
    this.ws.ping();
    return true;
  }

  private readonly afterSlowSend = (err?: Error): void => {
    // An error means the socket is gone: onClose follows, not onDrain.
    if (err || !this.needDrain || this.closed) return;
    if (this.ws.bufferedAmount < this.highWaterMark) {
      this.needDrain = false;
      if (this.drainCb !== null) this.drainCb();
    }
  };

  private deliver(data: Buffer): void {
    if (this.paused || this.dataCb === null || this.held !== null) {
      (this.held ??= []).push(data);
      return;
    }
    this.dataCb(data);
  }

  private releaseHeld(): void {
    while (this.held !== null && !this.paused && this.dataCb !== null && !this.closed) {
      const next = this.held.shift();
      if (this.held.length === 0) this.held = null;
      if (next !== undefined) this.dataCb(next);
    }
  }

  private fail(err: WsTransportError): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.hooks.violation(this, err);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.held = null;
    this.hooks.closed(this);
    const cb = this.closeCb;
    this.closeCb = null;
    if (cb !== null) cb(this.failure);
  }
}

/** Cuts `text` to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = "";
  let used = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (used + n > max) break;
    out += ch;
    used += n;
  }
  return out;
}
