/**
 * ClientConn without sockets: an in-memory Transport that records what the
 * connection writes, a real Router, and an authenticator that hands out real
 * CallerPolicies compiled from the shipped policies (callers named by the
 * CONNECT `user` field, their permission flags looked up in a table).
 */
import { ClientConn } from "../../src/conn/client_conn.js";
import { ConnCounters, type ConnContext, type ConnSettings } from "../../src/conn/context.js";
import type { AuditLog } from "../../src/obs/audit.js";
import { compileCallerPolicy } from "../../src/auth/permissions.js";
import { defaultPoliciesDir, loadPolicies } from "../../src/auth/policies.js";
import type { AuthInput, Authenticator, ClientPermissionFlags, Identity } from "../../src/auth/types.js";
import { AuthError } from "../../src/errors.js";
import { Router } from "../../src/router/router.js";
import type { Transport } from "../../src/transport/transport.js";
import type { Upstream, UpstreamMatch } from "../../src/router/types.js";
import { nullLogger } from "../../src/obs/log.js";

export class FakeTransport implements Transport {
  readonly kind = "tls" as const;
  readonly remoteAddress: string;
  readonly remotePort = 40000;
  readonly secure = true;
  bufferedBytes = 0;
  paused = false;
  ended = false;
  destroyed = false;
  /** Everything written, as latin1 text (the protocol is ASCII; payloads in tests are too). */
  written = "";
  /** Set false to keep written text empty (memory tests). */
  record = true;
  /** How often the connection said its peer logged in. */
  loggedInCalls = 0;
  private dataCb: (chunk: Uint8Array) => void = () => {};
  private closeCb: (err?: Error) => void = () => {};

  constructor(remote = "10.1.2.3") {
    this.remoteAddress = remote;
  }

  /** Bytes are copied at once, so `written` follows at once (as a socket's callback would, later). */
  write(chunk: Uint8Array, written?: () => void): boolean {
    if (this.record) this.written += Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1");
    if (written) queueMicrotask(written);
    return true;
  }
  writev(chunks: Uint8Array[], written?: () => void): boolean {
    for (const c of chunks) this.write(c);
    if (written) queueMicrotask(written);
    return true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  end(): void {
    this.finish();
  }
  destroy(): void {
    this.destroyed = true;
    this.finish();
  }
  loggedIn(): void {
    this.loggedInCalls++;
  }
  onData(cb: (chunk: Uint8Array) => void): void {
    this.dataCb = cb;
  }
  onDrain(): void {}
  onClose(cb: (err?: Error) => void): void {
    this.closeCb = cb;
  }

  /** The peer sends bytes. */
  send(data: string | Uint8Array): void {
    if (this.ended) return;
    this.dataCb(typeof data === "string" ? Buffer.from(data, "latin1") : data);
  }

  /** The transport fails under the connection (a WebSocket closing for a protocol violation). */
  fail(err: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.closeCb(err);
  }

  /** Take what was written so far. */
  take(): string {
    const s = this.written;
    this.written = "";
    return s;
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.closeCb();
  }
}

/** A hub side with no interest of its own, refusing the subjects in `refused` (for deliveries "from the hub"). */
export class FakeHub implements Upstream {
  readonly id = "hub";
  readonly live = true;
  readonly refused = new Set<string>();
  setInterest(): void {}
  match(): UpstreamMatch {
    return { plain: false, queues: [] };
  }
  refusesInterest(subject: string): boolean {
    return this.refused.has(subject);
  }
  forward(): boolean {
    return false;
  }
  forwardReply(): boolean {
    return false;
  }
}

export interface AuditRecord {
  event: string;
  fields: Record<string, unknown>;
}

export class RecordingAudit implements AuditLog {
  readonly events: AuditRecord[] = [];
  connect(e: object): void {
    this.events.push({ event: "connect", fields: { ...e } });
  }
  refused(e: object): void {
    this.events.push({ event: "refused", fields: { ...e } });
  }
  violation(e: object): void {
    this.events.push({ event: "violation", fields: { ...e } });
  }
  disconnect(e: object): void {
    this.events.push({ event: "disconnect", fields: { ...e } });
  }
}

const policies = loadPolicies(defaultPoliciesDir());

/** Callers by CONNECT `user`, with the permission flags their token would carry. */
export class TableAuthenticator implements Authenticator {
  readonly callers = new Map<string, ClientPermissionFlags>();
  /** How many authentications are still pending (tests can hold them). */
  hold: Promise<void> | null = null;

  async authenticate(input: AuthInput): Promise<Identity> {
    if (this.hold) await this.hold;
    const user = input.user ?? "";
    const flags = this.callers.get(user);
    if (flags === undefined) throw new AuthError("GW_ERR_AUTH_UNKNOWN", `unknown test caller ${JSON.stringify(user)}`);
    const claims = { purpose: "choria_client_id", callerid: user, public_key: "", exp: 2_000_000_000, permissions: flags };
    return { callerId: user, publicKey: "", expiresAt: Infinity, claims, policy: compileCallerPolicy(claims, policies, { collective: "choria" }), method: "test" };
  }
}

export const SETTINGS: ConnSettings = {
  authTimeout: 5000,
  pingInterval: 120_000,
  pingMax: 2,
  maxSubscriptions: 0,
  maxPending: 64 * 1024 * 1024,
  writeDeadline: 10_000,
  maxPayload: 1024 * 1024,
  maxControlLine: 4096 + 512,
  maxConnectLine: 64 * 1024,
};

export interface ConnWorld {
  router: Router;
  /** The hub side: deliver "from the hub" with router.deliverFromUpstream(hub, …). */
  hub: FakeHub;
  auth: TableAuthenticator;
  audit: RecordingAudit;
  counters: ConnCounters;
  ctx: ConnContext;
  closed: number[];
  /** A connection over a fresh fake transport. */
  open(remote?: string): { conn: ClientConn; t: FakeTransport };
  /** Open and CONNECT as `user`; resolves once the connection is OPEN (INFO and +OK/nothing taken). */
  login(user: string, flags?: ClientPermissionFlags, connect?: Record<string, unknown>): Promise<{ conn: ClientConn; t: FakeTransport }>;
}

export function connWorld(settings: Partial<ConnSettings> = {}): ConnWorld {
  const router = new Router();
  const hub = new FakeHub();
  router.addUpstream(hub);
  const auth = new TableAuthenticator();
  const audit = new RecordingAudit();
  const counters = new ConnCounters();
  const closed: number[] = [];
  const ctx: ConnContext = {
    router,
    authenticator: auth,
    settings: { ...SETTINGS, ...settings },
    server: { serverId: "NTEST", serverName: "test", version: "2.9.10", gatewayVersion: "0.0.0", host: "127.0.0.1", port: 4222 },
    log: nullLogger,
    audit,
    counters,
    onClosed: (c) => void closed.push(c.cid),
  };
  const w: ConnWorld = {
    router,
    hub,
    auth,
    audit,
    counters,
    ctx,
    closed,
    open(remote) {
      const t = new FakeTransport(remote);
      const conn = new ClientConn(t, ctx);
      return { conn, t };
    },
    async login(user, flags = {}, connect = {}) {
      auth.callers.set(user, flags);
      const { conn, t } = w.open();
      t.take();
      t.send(`CONNECT ${JSON.stringify({ user, verbose: false, pedantic: false, headers: true, no_responders: true, protocol: 1, ...connect })}\r\n`);
      await settle();
      return { conn, t };
    },
  };
  return w;
}

/** Let promise callbacks (authentication) and microtask flushes run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
