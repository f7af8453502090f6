/**
 * The one interface between sockets and the protocol. Concrete transports
 * (anonymous-TLS listener, WebSocket listener, mTLS dialer) live in this folder
 * and are the only code that touches node:net, node:tls or ws. Everything above
 * sees bytes in and bytes out.
 *
 * The NATS client port sends INFO in clear text before TLS (nats-server 2.9.10
 * order); the TLS listener therefore writes the first `write()` in clear and
 * starts the server-side handshake right after it. A connection's owner does not
 * need to know: it writes INFO first, and data arrives only once the transport
 * is secure.
 */
export interface Transport {
  /** "tls" (anonymous-TLS client port), "websocket", or "tcp" (plain, tests/dev only). */
  readonly kind: "tls" | "websocket" | "tcp";
  /** Peer IP address as text, e.g. "127.0.0.1". */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** True once the byte stream is encrypted (after the TLS handshake). */
  readonly secure: boolean;
  /** Bytes accepted by write() and not yet handed to the kernel. */
  readonly bufferedBytes: number;

  /**
   * Queue bytes; returns false when the caller should wait for onDrain.
   * `written`, if given, is called once the transport no longer reads `chunk`
   * (it reached the kernel or was copied); it may never be called if the
   * transport closes first. Until then the caller must not reuse the bytes.
   */
  write(chunk: Uint8Array, written?: () => void): boolean;
  /** Write several chunks as one batch (cork/writev); same return and `written` as write(). */
  writev(chunks: Uint8Array[], written?: () => void): boolean;
  /** Stop / restart delivering inbound data (back-pressure while authenticating). */
  pause(): void;
  resume(): void;
  /**
   * Flush what is queued, then close. `code`/`reason` are the WebSocket close
   * status and text (RFC 6455 section 7.4); other transports ignore them.
   */
  end(code?: number, reason?: string): void;
  /** Close now, dropping anything queued. */
  destroy(): void;

  /**
   * The peer has logged in: lift the bounds that hold before login (the
   * WebSocket transport accepts messages up to its max_payload-based limit
   * from now on instead of the CONNECT-sized one). Absent where nothing changes.
   */
  loggedIn?(): void;

  onData(cb: (chunk: Uint8Array) => void): void;
  onDrain(cb: () => void): void;
  /** Called exactly once, when the transport is closed for any reason. */
  onClose(cb: (err?: Error) => void): void;
}

/** What a listener hands each accepted connection to. */
export type AcceptHandler = (transport: Transport) => void;
