/**
 * The composition root (go-choria network.go): builds the router, the
 * authenticator, the upstream leafnode, the client listeners and the monitor
 * from one GatewayConfig, in a fixed order, and tears them down in reverse.
 * Start: policies and signers (a bad one stops the start) → router → upstream →
 * listeners → monitor. Stop: listeners stop accepting → clients flushed and
 * closed → upstream closed → monitor. Nothing else knows how the parts connect.
 */
import type { BlockList } from "node:net";
import type { Registry } from "prom-client";
import { hostname } from "node:os";
import { createServer as createServerKeys } from "nkeys.js";
import type { GatewayConfig } from "./config/types.js";
import type { Authenticator } from "./auth/types.js";
import { buildAuthenticator } from "./auth/build.js";
import { ClientConn, ConnState } from "./conn/client_conn.js";
import { CloseReasons } from "./conn/close_reason.js";
import { ConnCounters, type ConnContext } from "./conn/context.js";
import {
  connOptions, metricsOptions, monitorOptions, relayOptions, sameOptions, serverTls, tlsListenerOptions, upstreamOptions, wsOptions,
  type ServerTls,
} from "./config/parts.js";
import { planReload, type ReloadPlan } from "./config/reload.js";
import { gatewayConfigSchema } from "./config/schema.js";
import { ConfigError } from "./errors.js";
import { CallerSlots } from "./conn/caller_slots.js";
import { createLogger, LevelControl, stderrSink, type Logger } from "./obs/log.js";
import { createAuditLog, type RateLimitedAuditLog } from "./obs/audit.js";
import { createMetrics, sumLinkCounters, type ConnzEntry, type LeafnodeStats, type MetricSources, type RemoteLinkStats, type SubszEntry } from "./obs/metrics.js";
import { startMonitor } from "./obs/monitor.js";
import { RecentRing } from "./obs/recent_ring.js";
import { Router } from "./router/router.js";
import { poolStats } from "./protocol/chunk_pool.js";
import { startTlsListener, type TlsListener } from "./transport/tls_listener.js";
import { startWsListener, type WsListener } from "./transport/ws_listener.js";
import { buildAllowList, loadContext } from "./transport/listen.js";
import { startLoginRelay } from "./login/relay.js";
import type { Transport } from "./transport/transport.js";
import { LeafConn } from "./upstream/leaf_conn.js";
import { VERSION } from "./version.js";
import { NATS_PROTOCOL_VERSION, clientVisibleVersion } from "./nats_version.js";

/** Closed client connections /connz?state=closed keeps, per process (nats-server's max_closed_clients default). */
const CLOSED_CONNECTIONS_KEPT = 10_000;

export interface GatewayOptions {
  /** Main log (default: JSON lines on stderr at config.logLevel). */
  log?: Logger;
  /** Audit log (default: the main log, or config.auditFile). */
  audit?: Logger;
  /** Replace the configured authenticator (tests). */
  authenticator?: Authenticator;
  /** The log level control the caller's loggers use, so SIGHUP changes theirs too. */
  levels?: LevelControl;
}

type Monitor = Awaited<ReturnType<typeof startMonitor>>;
type LoginRelay = Awaited<ReturnType<typeof startLoginRelay>>;

export class Gateway {
  readonly serverId = createServerKeys().getPublicKey();
  readonly router = new Router();
  readonly counters = new ConnCounters();
  readonly conns = new Set<ClientConn>();
  readonly levels: LevelControl;
  readonly log: Logger;
  /** One leafnode link per configured remote, in configuration order. */
  readonly upstreams: LeafConn[] = [];
  /** The Prometheus registry (worker mode hands it to the cluster aggregator). */
  metricsRegistry: Registry | null = null;
  private listener: TlsListener | null = null;
  private ws: WsListener | null = null;
  private monitor: Monitor | null = null;
  private relay: LoginRelay | null = null;
  private ctx!: ConnContext;
  private accepting = true;
  /** client_hosts as a BlockList (null = everyone), replaced on reload. */
  private hosts: BlockList | null = null;
  private reloading: Promise<unknown> = Promise.resolve();
  private lameDuck = false;
  private lameDuckRun: Promise<void> | null = null;
  private readonly startedAt = new Date();
  private audit: RateLimitedAuditLog | null = null;
  /** The last closed client connections, for /connz?state=closed. */
  private readonly closedConns = new RecentRing<ConnzEntry>(CLOSED_CONNECTIONS_KEPT);

  private constructor(
    public config: GatewayConfig,
    private readonly opts: GatewayOptions,
  ) {
    this.levels = opts.levels ?? new LevelControl(config.logLevel);
    this.log = opts.log ?? createLogger(stderrSink, this.levels, { component: "aaa-leafnode" });
  }

  static async start(config: GatewayConfig, opts: GatewayOptions = {}): Promise<Gateway> {
    const gw = new Gateway(config, opts);
    try {
      await gw.startParts();
    } catch (err) {
      await gw.stop().catch(() => {});
      throw err;
    }
    return gw;
  }

  get clientPort(): number {
    return this.listener?.port ?? 0;
  }

  get websocketPort(): number {
    return this.ws?.port ?? 0;
  }

  get loginRelayPort(): number {
    return this.relay?.port ?? 0;
  }

  get monitorPort(): number {
    return this.monitor?.port ?? 0;
  }

  /** The first remote's link (null standalone). */
  get upstream(): LeafConn | null {
    return this.upstreams[0] ?? null;
  }

  /**
   * Ready while the upstream rule holds (always, standalone): every remote
   * connected ("all", the default) or at least one ("any").
   */
  get ready(): boolean {
    if (this.lameDuck || !this.accepting) return false;
    return this.upstreamsReady();
  }

  private upstreamsReady(): boolean {
    const ups = this.upstreams;
    if (ups.length === 0) return true;
    return this.config.upstreamReadiness === "any" ? ups.some((u) => u.connected) : ups.every((u) => u.connected);
  }

  /**
   * The upstream side (go-choria's setupLeafNodes): one leafnode link per
   * remote in leafnode_remotes, each with its own URLs, TLS, credentials,
   * buffer and backoff, attached to the router, which is their LocalSide.
   */
  private setupLeafnodes(): void {
    const c = this.config;
    for (const remote of c.leafRemotes) {
      const upstream = new LeafConn({
        ...upstreamOptions(c, remote),
        // The leafnode protocol level we speak, which is what a hub's min_version compares (src/nats_version.ts).
        version: NATS_PROTOCOL_VERSION,
        log: this.log,
        local: this.router,
      });
      this.upstreams.push(upstream);
      this.router.addUpstream(upstream);
    }
    for (const u of this.upstreams) u.start();
  }

  private async startParts(): Promise<void> {
    const c = this.config;
    const hubVersions = (): (string | undefined)[] => this.upstreams.map((u) => u.hubVersion);
    const authenticator = this.opts.authenticator ?? (await buildAuthenticator(c, this.log));
    const audit = createAuditLog(this.opts.audit ?? this.log.child({ log: "audit" }));
    this.audit = audit;
    const metrics = createMetrics(this.metricSources(), metricsOptions(c));
    this.metricsRegistry = metrics.registry;
    this.ctx = {
      router: this.router,
      authenticator,
      settings: connOptions(c),
      server: {
        serverId: this.serverId,
        serverName: c.serverName || hostname(),
        // Read per INFO: the hub's version while its link is up, the protocol floor otherwise.
        get version() {
          return clientVisibleVersion(hubVersions());
        },
        gatewayVersion: VERSION,
        host: c.listenAddress,
        port: c.clientPort,
      },
      log: this.log.child({ component: "client" }),
      audit,
      counters: this.counters,
      callerSlots: new CallerSlots(c.limits.maxConnectionsPerCaller),
      observeAuthSeconds: (s) => metrics.observeAuthSeconds(s),
      onClosed: (conn) => {
        this.conns.delete(conn as ClientConn);
        this.closedConns.push(connzEntry(conn as ClientConn));
      },
    };

    this.setupLeafnodes();

    const tl = tlsListenerOptions(c);
    // client_hosts guards every listener (TLS, WebSocket, login relay) and follows a reload.
    this.hosts = buildAllowList(c.clientHosts);
    const allowHosts = () => this.hosts;
    this.listener = await startTlsListener({
      host: tl.host,
      port: tl.port,
      tls: tl.tls,
      tlsTimeout: tl.tlsTimeout,
      allowHosts,
      log: this.log.child({ component: "listener" }),
      onAccept: (t) => this.accept(t),
    });
    // The INFO advertises the port actually bound (port 0 in tests).
    this.ctx.server.port = this.listener.port;

    const ws = wsOptions(c);
    if (ws) {
      if (ws.insecureWithAaa) {
        this.log.warn("plain ws:// WebSocket with the AAA authenticator: tokens are only accepted over TLS, so WebSocket logins will be refused");
      }
      this.ws = await startWsListener({
        host: ws.host,
        port: ws.port,
        tls: ws.tls,
        compression: ws.compression,
        allowedOrigins: ws.allowedOrigins,
        allowHosts,
        handshakeTimeout: ws.handshakeTimeout,
        maxFrameBytes: ws.maxFrameBytes,
        preLoginMessageBytes: ws.preLoginMessageBytes,
        log: this.log.child({ component: "websocket" }),
        onAccept: (t) => this.accept(t),
      });
    }

    const relay = relayOptions(c);
    if (relay) {
      this.relay = await startLoginRelay({
        ...relay,
        allowHosts,
        log: this.log.child({ component: "login_relay" }),
        onRequest: (outcome, seconds) => metrics.observeRelaySeconds(outcome, seconds),
      });
    }

    const mon = monitorOptions(c);
    if (mon) {
      this.monitor = await startMonitor({
        ...mon,
        registry: metrics.registry,
        sources: this.metricSources(),
        log: this.log.child({ component: "monitor" }),
        info: () => this.varz(),
        about: () => ({
          serverId: this.serverId,
          serverName: this.ctx.server.serverName,
          identity: metricsOptions(this.config).identity,
          version: VERSION,
          sha: "",
          configFile: this.config.source === "<defaults>" ? "" : this.config.source,
          maxConnections: this.config.limits.maxConnections,
          startedAt: this.startedAt,
        }),
      });
    }
    this.log.info("aaa-leafnode started", {
      version: VERSION,
      client_port: this.clientPort,
      websocket_port: this.websocketPort || undefined,
      stats_port: this.monitorPort || undefined,
      login_relay_port: this.loginRelayPort || undefined,
      upstream: c.leafRemotes.length > 0 ? c.leafRemotes.map((r) => r.name) : "standalone",
    });
  }

  /** One accepted transport becomes a client connection (or a refusal over the limit). */
  private accept(t: Transport): void {
    if (!this.accepting) {
      t.destroy();
      return;
    }
    const conn = new ClientConn(t, this.ctx);
    const max = this.config.limits.maxConnections;
    if (max > 0 && this.conns.size >= max) {
      conn.rejectMaxConnections();
      return;
    }
    if (conn.state !== ConnState.Closed) this.conns.add(conn);
  }

  /** SIGTERM: stop accepting, flush and close every client, close the upstream. */
  async stop(): Promise<void> {
    this.accepting = false;
    // Stop accepting first; server.close() resolves only once every socket is gone, so await it last.
    const listenersClosed = Promise.all([this.listener?.close(), this.ws?.close()]);
    for (const conn of [...this.conns]) conn.close(CloseReasons.ServerShutdown);
    await waitUntil(() => this.conns.size === 0, this.config.softShutdownTimeout);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.config.softShutdownTimeout)));
    await Promise.race([listenersClosed, timeout]);
    clearTimeout(timer);
    await Promise.all(this.upstreams.map((u) => u.stop()));
    await this.relay?.close();
    await this.monitor?.close();
    this.audit?.close();
    this.log.info("aaa-leafnode stopped");
  }

  /**
   * SIGUSR2, lame duck mode as nats-server does it: stop accepting, tell
   * protocol-1 clients (INFO ldm), wait the grace period, then close clients
   * spread over the rest of the window so they reconnect elsewhere gradually.
   */
  enterLameDuck(): Promise<void> {
    // A repeated request joins the window in progress instead of cutting it short.
    this.lameDuckRun ??= this.runLameDuck();
    return this.lameDuckRun;
  }

  private async runLameDuck(): Promise<void> {
    this.lameDuck = true;
    this.accepting = false;
    this.log.warn("entering lame duck mode", { clients: this.conns.size });
    void this.listener?.close();
    void this.ws?.close();
    for (const conn of this.conns) conn.sendLameDuckInfo();
    const { lameDuckDuration: window, lameDuckGracePeriod: grace } = this.config;
    await sleep(Math.min(grace, window));
    const conns = [...this.conns];
    const spread = Math.max(window - grace, 0);
    const step = conns.length > 0 ? spread / conns.length : 0;
    for (const conn of conns) {
      conn.close(CloseReasons.LameDuck);
      if (step > 0) await sleep(step);
    }
  }

  /**
   * SIGHUP: apply a new configuration all or nothing. Plan: which keys changed
   * and when each takes effect (config/reload.ts). Validate everything the new
   * configuration needs before touching anything: the whole-object rules, the
   * authenticator (signers or issuers, policies), every server certificate and
   * key the listeners would load. Commit only then: the configuration, log
   * level, authenticator, connection settings and certificates, and every open
   * connection is authenticated again. Any failure throws a ConfigError and
   * leaves every setting, connection and the upstream link as they were.
   */
  reload(next: GatewayConfig): Promise<ReloadPlan> {
    // One reload at a time: each plans against what the previous one committed.
    const run = this.reloading.then(() => this.applyReload(next));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async applyReload(next: GatewayConfig): Promise<ReloadPlan> {
    // Plan.
    const plan = planReload(this.config, next);
    const c = plan.config;
    // Validate.
    const checked = gatewayConfigSchema.safeParse(c);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      throw new ConfigError(`reload refused: ${issue.path.join(".")}: ${issue.message}`, { file: next.source });
    }
    const authenticator = this.opts.authenticator ?? (await buildAuthenticator(c, this.log));
    const tls = serverTls(c);
    const ws = wsOptions(c);
    const relay = relayOptions(c);
    const certificates = [
      ...(this.listener ? [["client listener", tls] as const] : []),
      ...(this.ws && ws?.tls ? [["websocket listener", ws.tls] as const] : []),
      ...(this.relay && relay ? [["login relay", relay.tls] as const] : []),
    ];
    for (const [part, files] of certificates) checkServerTls(part, files, c.source);

    // Commit.
    const running = this.config;
    this.config = c;
    this.levels.level = c.logLevel;
    this.ctx.authenticator = authenticator;
    this.ctx.settings = connOptions(c);
    if (this.ctx.callerSlots) this.ctx.callerSlots.limit = c.limits.maxConnectionsPerCaller;
    this.hosts = buildAllowList(c.clientHosts);
    this.listener?.reloadCertificate(tls);
    if (this.ws && ws?.tls) this.ws.reloadCertificate(ws.tls);
    if (this.relay && relay) this.relay.reloadCertificate(relay.tls);
    for (const ch of plan.changes) {
      const fields = { key: ch.key, reload: ch.reload, from: ch.from ?? "(not set)", to: ch.to ?? "(not set)" };
      if (ch.reload === "restart") this.log.warn("configuration key changed; it takes effect at the next restart, the running value is kept", fields);
      else this.log.info("configuration key changed", fields);
    }
    // The links keep what they were built with (their remotes are kept above); say what they did not take.
    for (const remote of running.leafRemotes) {
      const [was, now] = [upstreamOptions(running, remote), upstreamOptions(c, remote)];
      const differ = (Object.keys(was) as (keyof typeof was)[]).filter((k) => !sameOptions(was[k], now[k]));
      if (differ.length > 0) this.log.warn("the upstream link keeps the settings it started with until the next restart", { remote: remote.name, settings: differ });
    }
    await Promise.all([...this.conns].map((conn) => conn.reauthenticate()));
    this.log.info("configuration reloaded", {
      clients: this.conns.size,
      changed: plan.changes.length,
      restart_needed: plan.changes.filter((ch) => ch.reload === "restart").map((ch) => ch.key),
    });
    return plan;
  }

  metricSources(): MetricSources {
    const live = () => [...this.conns];
    const sum = (f: (c: ClientConn) => number) => live().reduce((n, c) => n + f(c), 0);
    const k = this.counters;
    return {
      connections: () => this.conns.size,
      totalConnections: () => k.totalConnections,
      inMsgs: () => k.closedInMsgs + sum((c) => c.inMsgs),
      outMsgs: () => k.closedOutMsgs + sum((c) => c.outMsgs),
      inBytes: () => k.closedInBytes + sum((c) => c.inBytes),
      outBytes: () => k.closedOutBytes + sum((c) => c.outBytes),
      slowConsumers: () => k.slowConsumers,
      subscriptions: () => this.router.subscriptionCount,
      closeReasons: () => k.closeReasons,
      authOutcomes: () => k.authOutcomes,
      permissionViolations: () => k.violations,
      rewrittenInboxes: () => k.rewrittenInboxes,
      lifecycleFiltered: () => k.lifecycleFiltered + this.router.lifecycleWithheld,
      writePoolBytes: () => poolStats().bytes,
      auditSuppressed: () => this.audit?.suppressed ?? 0,
      leafnode: () => leafnodeStats(this.config, this.upstreams),
      subsz: (): SubszEntry[] => live().flatMap((c) => subszOf(c)),
      websocket: () => ({ upgrades: this.ws?.stats.upgrades ?? 0, rejected: this.ws?.stats.rejected ?? {} }),
      loginRelay: (): Record<string, number> => {
        const r = this.relay?.stats;
        return r ? { ok: r.ok, bad_request: r.bad_request, too_large: r.too_large, upstream_error: r.upstream_error } : {};
      },
      // Every reason of each listener running, at 0 until it happens (so alerts can use increase()).
      refusedConnections: () => ({
        ...(this.listener ? { client: { ...this.listener.refused } } : {}),
        ...(this.ws ? { websocket: { ...this.ws.refused } } : {}),
        ...(this.relay ? { login_relay: { ...this.relay.stats.refused } } : {}),
      }),
      connz: () => live().map((c) => connzEntry(c)),
      closedConnz: () => this.closedConns.list(),
      ready: () => this.ready,
      readyReason: () =>
        this.ready ? "ok" : this.lameDuck ? "lame duck mode" : !this.accepting ? "shutting down" : "upstream leafnode not connected",
    };
  }

  varz(): Record<string, unknown> {
    return {
      server_id: this.serverId,
      server_name: this.ctx?.server.serverName,
      cluster: this.config.clusterName,
      version: VERSION,
      nats_version: this.ctx?.server.version,
      start: this.startedAt.toISOString(),
      uptime_seconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      client_port: this.clientPort,
      websocket_port: this.websocketPort,
      connections: this.conns.size,
      upstream_connected: this.upstreams.length > 0 ? this.upstreamsReady() : null,
      lame_duck: this.lameDuck,
    };
  }
}

/** The upstream figures for metrics and /varz: totals plus one entry per remote. */
function leafnodeStats(c: GatewayConfig, ups: readonly LeafConn[]): LeafnodeStats {
  const remotes: RemoteLinkStats[] = ups.map((u, i) => ({
    remote: u.id,
    connected: u.connected ? 1 : 0,
    host: u.currentUrl?.host,
    port: u.currentUrl?.port,
    account: c.leafRemotes[i]?.account,
    rttMs: u.rttMs,
    ...u.stats,
    bufferLimitBytes: c.upstreamBufferBytes,
    subscriptions: u.connected ? u.hubInterest.size : 0,
    subjects: () => (u.connected ? [...u.hubInterest.entries()].map((e) => (e.queue ? `${e.subject} ${e.queue}` : e.subject)) : []),
    status: u.status(),
  }));
  const sum = (f: (r: RemoteLinkStats) => number): number => remotes.reduce((n, r) => n + f(r), 0);
  const first = remotes[0];
  return {
    configured: c.leafRemotes.length,
    connected: sum((r) => r.connected),
    host: first?.host,
    port: first?.port,
    account: first?.account,
    rttMs: first?.rttMs,
    ...sumLinkCounters(remotes),
    remotes,
  };
}

/** Subscriptions a closed connection keeps in its /connz entry (its `subscriptions` count stays exact). */
const CLOSED_SUBSCRIPTIONS_KEPT = 16;

/** A connection's subscriptions as /subsz lists them (the subject as routed). */
function subszOf(c: ClientConn): SubszEntry[] {
  return c.subscriptionList().map((s) => ({ subject: s.subject, queue: s.queue, sid: s.sid, cid: c.cid, msgs: s.delivered, max: s.max }));
}

/** A connection as /connz reads it; a closed one with when and why, and at most CLOSED_SUBSCRIPTIONS_KEPT subscriptions. */
function connzEntry(c: ClientConn): ConnzEntry {
  const id = c.identity;
  const closed = c.state === ConnState.Closed;
  const subs = subszOf(c);
  return {
    cid: c.cid,
    transport: c.transport.kind,
    ip: c.transport.remoteAddress,
    port: c.transport.remotePort,
    start: c.connectedAt.getTime(),
    lastActivity: c.lastActivityAt,
    stop: closed ? c.closedAt : undefined,
    reason: c.closedBecauseText ?? undefined,
    rttMs: c.rttMs,
    pendingBytes: closed ? 0 : c.pendingBytes,
    inMsgs: c.inMsgs,
    outMsgs: c.outMsgs,
    inBytes: c.inBytes,
    outBytes: c.outBytes,
    subscriptions: subs.length,
    name: c.options?.name || undefined,
    lang: c.options?.lang || undefined,
    version: c.options?.version || undefined,
    callerId: id?.callerId ?? null,
    authMethod: id?.method ?? null,
    tokenExpiresAt: id && Number.isFinite(id.expiresAt) ? new Date(id.expiresAt).toISOString() : null,
    subs: closed ? subs.slice(0, CLOSED_SUBSCRIPTIONS_KEPT) : subs,
  };
}

/** Loads a server certificate and key the way the listeners do, without installing them. */
function checkServerTls(part: string, files: ServerTls, source: string): void {
  try {
    loadContext(files);
  } catch (err) {
    throw new ConfigError(`reload refused: the ${part} cannot use ${files.cert} with ${files.key}: ${err instanceof Error ? err.message : String(err)}`, { file: source }, { cause: err });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await sleep(20);
}
