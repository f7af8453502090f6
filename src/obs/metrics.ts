/**
 * Prometheus metrics, collected on scrape. The data path never touches
 * prom-client: connections, the router and the upstream link keep plain
 * counters, and each metric here has a `collect()` callback that copies the
 * current value out of a `MetricSources` object when /metrics is read (the way
 * go-choria copies nats-server's /varz into gauges). Choria's broker metric
 * names are kept exactly (gauges with an `identity` label, as go-choria's
 * broker/network/stats.go registers them) so existing dashboards work; the
 * gateway's own facts (auth outcomes, permission violations, upstream buffer,
 * WebSocket, login relay) live under `aaa_leafnode_`.
 */
import { hostname } from "node:os";
import * as promClient from "prom-client";
import { type Aggregator, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { CloseReasons } from "../conn/close_reason.js";
import { VERSION } from "../version.js";
import type { RemoteStatus } from "../upstream/leaf_conn.js";

/** Every close reason, so each `reason` series exists (at 0) from the start and alerts can use increase(). */
const closeReasonLabels = Object.values(CloseReasons).map((r) => r.label);

/**
 * One client connection, open or recently closed, as /connz reads it: plain
 * data (worker mode sends it between processes); the monitor renders it in
 * nats-server's ConnInfo shape. Times are ms since the epoch.
 */
export interface ConnzEntry {
  cid: number;
  /** The transport: "tls" (client port), "websocket", or "tcp" (tests). */
  transport: "tls" | "websocket" | "tcp";
  ip: string;
  port: number;
  start: number;
  lastActivity: number;
  /** Closed connections only: when, and nats-server's text for why. */
  stop?: number;
  reason?: string;
  /** Last round trip measured (0 before CONNECT). */
  rttMs: number;
  pendingBytes: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  subscriptions: number;
  name?: string;
  lang?: string;
  version?: string;
  /** The authenticated caller (nats-server's authorized_user), null before authentication. */
  callerId: string | null;
  authMethod: string | null;
  /** ISO 8601. */
  tokenExpiresAt: string | null;
  /** Its subscriptions as /subsz lists them. */
  subs: SubszEntry[];
}

/** Figures of one leafnode link, or their totals. Counters are cumulative across reconnects. */
export interface LinkFigures {
  /** Last measured round trip; undefined before the first PONG. */
  rttMs: number | undefined;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  reconnects: number;
  bufferedMsgs: number;
  bufferedBytes: number;
  droppedMsgs: number;
  droppedBytes: number;
  /** Current hub address and account, for the Choria leafnode labels (empty when unknown). */
  host?: string;
  port?: number;
  account?: string;
}

/** The cumulative counters of LinkFigures (what adds up over links). */
const LINK_COUNTERS = ["inMsgs", "outMsgs", "inBytes", "outBytes", "reconnects", "bufferedMsgs", "bufferedBytes", "droppedMsgs", "droppedBytes"] as const;
type LinkCounters = Pick<LinkFigures, (typeof LINK_COUNTERS)[number]>;

/** Those counters added up over several links: a gateway's remotes, or the workers' totals. */
export function sumLinkCounters(all: readonly LinkFigures[]): LinkCounters {
  const out = {} as LinkCounters;
  for (const k of LINK_COUNTERS) out[k] = all.reduce((n, l) => n + l[k], 0);
  return out;
}

/** One configured remote's link. */
export interface RemoteLinkStats extends LinkFigures {
  /** The remote's name from leafnode_remotes. */
  remote: string;
  /** 1 while connected; in worker mode the number of workers whose link to it is connected. */
  connected: number;
  /** Links this entry stands for: one per worker in worker mode (absent: 1). */
  links?: number;
  refusedInterest?: number;
  refusedPublishes?: number;
  /** The outage buffer's bound in bytes. */
  bufferLimitBytes?: number;
  /** Interest the hub announced over this link (its LS+), nats-server's leafz `subscriptions`. */
  subscriptions?: number;
  /** Those subjects ("subject" or "subject queue"); only read for /leafz?subs=1. */
  subjects?(): string[];
  /** State, last error, failed attempts and next retry (/varz and the status page). */
  status?: RemoteStatus;
}

/** One client subscription as /subsz lists it (nats-server's SubDetail). */
export interface SubszEntry {
  /** Subject as routed (inside the caller's reply namespace where rewritten). */
  subject: string;
  queue?: string;
  sid: string;
  cid: number;
  /** Messages delivered to it. */
  msgs: number;
  /** Auto-unsubscribe limit; 0 = none. */
  max: number;
}

/** State of the upstream leafnode links: totals over every remote (host, port, account: the first remote's). */
export interface LeafnodeStats extends LinkFigures {
  /** Remotes configured (0 = standalone). */
  configured: number;
  /** Remotes currently connected. */
  connected: number;
  /** Each remote on its own (per-remote series carry a `remote` label); absent means one unnamed link. */
  remotes?: RemoteLinkStats[];
}

/** Everything the metrics and the monitor read; wired by gateway.ts. Must not throw. */
export interface MetricSources {
  connections(): number;
  totalConnections(): number;
  inMsgs(): number;
  outMsgs(): number;
  inBytes(): number;
  outBytes(): number;
  slowConsumers(): number;
  subscriptions(): number;
  /** Close reason -> count. */
  closeReasons(): Record<string, number>;
  /** "ok" or a refusal code -> count. */
  authOutcomes(): Record<string, number>;
  /** "publish" | "subscribe" | "reply" -> count. */
  permissionViolations(): Record<string, number>;
  /** _INBOX subjects rewritten into reply namespaces. */
  rewrittenInboxes(): number;
  /** Lifecycle messages withheld from clients. */
  lifecycleFiltered(): number;
  /** Spare outbound chunks kept for reuse (protocol/chunk_pool.ts), bytes. */
  writePoolBytes(): number;
  /** Audit events held back by the audit rate limit (not yet exported). */
  auditSuppressed?(): number;
  leafnode(): LeafnodeStats;
  /** Every client subscription (read only for /subsz?subs=1; absent: none listed). */
  subsz?(): SubszEntry[];
  websocket?(): { upgrades: number; rejected: Record<string, number> };
  /** Outcome -> count. */
  loginRelay?(): Record<string, number>;
  /**
   * Sockets a listener closed before login, listener ("client", "websocket", "login_relay") ->
   * reason (transport/admission.ts's AdmissionRefusal; the login relay's `stats.refused`) -> count.
   */
  refusedConnections?(): Record<string, Record<string, number>>;
  /** The open client connections. */
  connz(): ConnzEntry[];
  /** Recently closed client connections, oldest first, at most a bounded number (absent: none kept). */
  closedConnz?(): ConnzEntry[];
  ready(): boolean;
  /** Why not ready, e.g. "upstream not connected". */
  readyReason(): string;
}

/** What choria_build_info says about the build. */
export interface BuildInfo {
  version: string;
  /** Commit of the build, when known ("" otherwise). */
  sha: string;
}

/** Links an entry stands for (one, or one per worker in worker mode). */
export function linkCount(r: RemoteLinkStats): number {
  return r.links ?? 1;
}

/** "connected" when every link of the remote is, "down" when none is, else "k of n connected". */
export function remoteUpState(r: RemoteLinkStats): string {
  const n = linkCount(r);
  return r.connected >= n ? "connected" : r.connected <= 0 ? "down" : `${r.connected} of ${n} connected`;
}

/** Each configured remote's link, also when the source only gives totals (one unnamed link). */
export function remoteLinks(l: LeafnodeStats): RemoteLinkStats[] {
  return l.remotes ?? (l.configured > 0 ? [{ ...l, remote: "" }] : []);
}

export interface MetricsOptions {
  /** Prefix of the gateway's own metrics (default "aaa_leafnode_"); Choria names never change. */
  prefix?: string;
  /** Value of the `identity` label on Choria metrics (default: the host name, as Choria's identity). */
  identity?: string;
  /** choria_build_info labels (default: the package version, no commit). */
  build?: BuildInfo;
  /** Register prom-client's process metrics (default true). */
  defaultMetrics?: boolean;
}

export interface Metrics {
  registry: Registry;
  /** Time from CONNECT received to the auth verdict; once per connection. */
  observeAuthSeconds(seconds: number): void;
  /** Duration of one relayed login request, by outcome ("ok", "timeout", ...). */
  observeRelaySeconds(outcome: string, seconds: number): void;
}

// Auth is local crypto (RSA/EdDSA verify): sub-millisecond to tens of ms.
const authBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
// The login relay is an HTTPS round trip to the AAA service.
const relayBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Counters reject negative and non-finite values; a bad source value reads as 0 rather than failing the scrape. */
function count(v: number): number {
  return Number.isFinite(v) && v >= 0 ? v : 0;
}

/** Gauges accept any finite value. */
function level(v: number): number {
  return Number.isFinite(v) ? v : 0;
}

/**
 * Copies a cumulative "label value -> count" record into a labelled counter.
 * `always` label values are emitted as 0 so the series exist before the first event.
 */
function fillCounter(c: Counter<string>, label: string, record: Record<string, number>, always: readonly string[]): void {
  c.reset();
  for (const value of always) c.inc({ [label]: value }, 0);
  for (const [value, n] of Object.entries(record)) c.inc({ [label]: value }, count(n));
}

export function createMetrics(sources: MetricSources, opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const p = opts.prefix ?? "aaa_leafnode_";
  const identity = opts.identity ?? hostname();
  const build = opts.build ?? { version: VERSION, sha: "" };
  const registers = [registry];
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  // Choria broker metrics: all gauges labelled with the broker identity.
  const choriaGauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name, help, labelNames: ["identity"], registers,
      collect() {
        this.set({ identity }, level(read()));
      },
    });
  };
  choriaGauge("choria_network_connections", "Current connections on the network broker", () => sources.connections());
  choriaGauge("choria_network_total_connections", "Total connections received since start", () => sources.totalConnections());
  choriaGauge("choria_network_in_msgs", "Messages received by the network broker", () => sources.inMsgs());
  choriaGauge("choria_network_out_msgs", "Messages sent by the network broker", () => sources.outMsgs());
  choriaGauge("choria_network_in_bytes", "Total size of messages received by the network broker", () => sources.inBytes());
  choriaGauge("choria_network_out_bytes", "Total size of messages sent by the network broker", () => sources.outBytes());
  choriaGauge("choria_network_slow_consumers", "Total number of clients who were considered slow consumers", () => sources.slowConsumers());
  choriaGauge("choria_network_subscriptions", "Number of active subscriptions to subjects on this broker", () => sources.subscriptions());
  choriaGauge("choria_network_leafnode_remotes", "Current active connections to other leafnodes", () => sources.leafnode().connected);
  // A gateway forms no cluster and no super cluster: Choria's route and remote counts are 0.
  choriaGauge("choria_network_routes", "Current active routes to other brokers", () => 0);
  choriaGauge("choria_network_remotes", "Current active connections to other brokers", () => 0);

  // Choria's build gauge: a counter at 1 labelled with the version.
  new Counter({
    name: "choria_build_info", help: "Build information about the running server", labelNames: ["version", "sha", "identity"], registers,
    collect() {
      this.reset();
      this.inc({ version: build.version, sha: build.sha, identity }, 1);
    },
  });

  // Per-link leafnode gauges carry Choria's host/port/account labels plus the
  // remote's name, one series per configured remote, as Choria emits them per
  // leafz entry; none while standalone.
  const linkLabels = ["identity", "host", "port", "account", "remote"] as const;
  const linksOf = remoteLinks;
  const leafGauge = (name: string, help: string, read: (l: RemoteLinkStats) => number | undefined, aggregator: "sum" | "average" = "sum"): void => {
    new Gauge({
      // Named aggregators from useClusterAggregators (prom-client's type lists only its own).
      name, help, labelNames: linkLabels, registers, aggregator: PER_REMOTE_AGGREGATORS[aggregator] as unknown as Aggregator,
      collect() {
        this.reset();
        for (const l of linksOf(sources.leafnode())) {
          const v = read(l);
          if (v === undefined || !Number.isFinite(v)) continue;
          this.set({ identity, host: l.host ?? "", port: l.port !== undefined ? String(l.port) : "", account: l.account ?? "", remote: l.remote }, v);
        }
      },
    });
  };
  leafGauge("choria_network_leafnode_rtt_ms", "RTT for the Leafnode connection", (l) => (l.connected > 0 ? l.rttMs : undefined), "average");
  leafGauge("choria_network_leafnode_in_msgs", "Messages received over the leafnode connection", (l) => l.inMsgs);
  leafGauge("choria_network_leafnode_out_msgs", "Messages sent over the leafnode connection", (l) => l.outMsgs);
  leafGauge("choria_network_leafnode_in_bytes", "Bytes received over the leafnode connection", (l) => l.inBytes);
  leafGauge("choria_network_leafnode_out_bytes", "Total size of messages sent over the leafnode connection", (l) => l.outBytes);
  leafGauge("choria_network_leafnode_subscriptions", "Number of active subscriptions to subjects on this leafnode", (l) => (l.connected > 0 ? l.subscriptions : undefined));

  // Our per-remote series: the `remote` label names the leafnode remote.
  const remoteSeries = (name: string, help: string, read: (l: RemoteLinkStats) => number): void => {
    new Gauge({
      name: p + name, help, labelNames: ["remote"], registers,
      collect() {
        this.reset();
        for (const l of linksOf(sources.leafnode())) this.set({ remote: l.remote }, level(read(l)));
      },
    });
  };
  remoteSeries("upstream_remote_connected", "1 while this remote's leafnode link is connected", (l) => l.connected);
  remoteSeries("upstream_remote_reconnects", "Reconnects of this remote's leafnode link", (l) => l.reconnects);
  remoteSeries("upstream_remote_buffered_msgs", "Messages buffered for this remote while its link is down", (l) => l.bufferedMsgs);
  remoteSeries("upstream_remote_buffered_bytes", "Bytes buffered for this remote while its link is down", (l) => l.bufferedBytes);
  remoteSeries("upstream_remote_dropped_msgs", "Messages dropped because this remote's buffer was full", (l) => l.droppedMsgs);
  remoteSeries("upstream_remote_buffer_limit_bytes", "Bound of this remote's outage buffer (upstream_buffer_size); publishes past it are dropped", (l) => l.bufferLimitBytes ?? 0);
  remoteSeries("upstream_remote_refused_interest", "Interest never announced to this remote because its hub refuses it", (l) => l.refusedInterest ?? 0);

  // The gateway's own metrics.
  const ownCounter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name: p + name, help, registers,
      collect() {
        this.reset();
        this.inc(count(read()));
      },
    });
  };
  // Worker mode sums every metric across workers, except where `aggregator` says otherwise.
  const ownGauge = (name: string, help: string, read: () => number, aggregator: "sum" | "min" = "sum"): void => {
    new Gauge({
      name: p + name, help, registers, aggregator,
      collect() {
        this.set(level(read()));
      },
    });
  };
  const ownLabelledCounter = (
    name: string, help: string, label: string, read: () => Record<string, number> | undefined, always: readonly string[] = [],
  ): void => {
    new Counter({
      name: p + name, help, labelNames: [label], registers,
      collect() {
        fillCounter(this, label, read() ?? {}, always);
      },
    });
  };

  ownLabelledCounter("auth_total", "Authentication attempts by outcome (ok or refusal code)", "outcome", () => sources.authOutcomes(), ["ok"]);
  ownLabelledCounter("permission_violations_total", "Denied operations by kind", "kind", () => sources.permissionViolations(), ["publish", "subscribe", "reply"]);
  ownLabelledCounter("closed_connections_total", "Closed client connections by close reason", "reason", () => sources.closeReasons(), closeReasonLabels);
  ownCounter("rewritten_inboxes_total", "_INBOX reply subjects rewritten into private reply namespaces", () => sources.rewrittenInboxes());
  ownCounter("lifecycle_filtered_total", "Lifecycle messages withheld from clients", () => sources.lifecycleFiltered());
  ownGauge("write_pool_bytes", "Spare outbound buffer memory kept for reuse after a burst (given back when idle)", () => sources.writePoolBytes());
  ownGauge("ready", "1 when the gateway reports ready on /readyz", () => (sources.ready() ? 1 : 0), "min");

  ownGauge("upstream_configured", "Upstream leafnode remotes configured (0 = standalone)", () => sources.leafnode().configured);
  ownGauge("upstream_connected", "1 while the upstream leafnode link is connected", () => sources.leafnode().connected);
  ownCounter("upstream_reconnects_total", "Upstream leafnode reconnects", () => sources.leafnode().reconnects);
  ownGauge("upstream_buffered_msgs", "Messages buffered for the upstream while it is down", () => sources.leafnode().bufferedMsgs);
  ownGauge("upstream_buffered_bytes", "Bytes buffered for the upstream while it is down", () => sources.leafnode().bufferedBytes);
  ownCounter("upstream_dropped_msgs_total", "Messages dropped because the upstream buffer was full", () => sources.leafnode().droppedMsgs);
  ownCounter("upstream_dropped_bytes_total", "Bytes dropped because the upstream buffer was full", () => sources.leafnode().droppedBytes);

  if (sources.websocket) {
    const ws = sources.websocket.bind(sources);
    ownCounter("websocket_upgrades_total", "Accepted WebSocket upgrades", () => ws().upgrades);
    ownLabelledCounter("websocket_rejected_total", "Refused WebSocket upgrades by reason", "reason", () => ws().rejected);
  }
  if (sources.loginRelay) {
    const relay = sources.loginRelay.bind(sources);
    ownLabelledCounter("login_relay_requests_total", "Relayed AAA login requests by outcome", "outcome", () => relay(), ["ok"]);
  }

  if (sources.refusedConnections) {
    const refused = sources.refusedConnections.bind(sources);
    new Counter({
      name: p + "refused_connections_total", help: "Sockets closed before login by a listener's pre-login bounds, by listener and reason",
      labelNames: ["listener", "reason"], registers,
      collect() {
        this.reset();
        for (const [listener, reasons] of Object.entries(refused())) {
          for (const [reason, n] of Object.entries(reasons)) this.inc({ listener, reason }, count(n));
        }
      },
    });
  }

  const authSeconds = new Histogram({
    name: p + "auth_duration_seconds", help: "Time from CONNECT to the authentication verdict", buckets: authBuckets, registers,
  });
  const relaySeconds = new Histogram({
    name: p + "login_relay_duration_seconds", help: "Duration of relayed AAA login requests by outcome",
    labelNames: ["outcome"], buckets: relayBuckets, registers,
  });

  return {
    registry,
    observeAuthSeconds(seconds: number): void {
      if (Number.isFinite(seconds) && seconds >= 0) authSeconds.observe(seconds);
    },
    observeRelaySeconds(outcome: string, seconds: number): void {
      if (Number.isFinite(seconds) && seconds >= 0) relaySeconds.observe({ outcome }, seconds);
    },
  };
}

/**
 * Worker mode's aggregation of the per-link Choria gauges: prom-client's
 * cluster aggregator adds up series with equal labels, but each worker has its
 * own link to a remote, whose `host` and `port` differ while one is down ("")
 * or on another of the remote's hubs, which would give one remote several
 * series. These aggregators group by every label but those two, so each
 * remote keeps one series, labelled with a connected link's hub address.
 */
const PER_REMOTE_AGGREGATORS = {
  sum: "aaa_leafnode_per_remote_sum",
  average: "aaa_leafnode_per_remote_average",
} as const;

type MetricJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>[number] & {
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
  aggregator: string;
};

function perRemote(reduce: (values: number[]) => number): (metrics: MetricJson[]) => MetricJson | undefined {
  return (metrics) => {
    const first = metrics[0];
    if (first === undefined) return undefined;
    const groups = new Map<string, { labels: Record<string, string | number>; values: number[] }>();
    for (const m of metrics) {
      for (const v of m.values) {
        const { host: _host, port: _port, ...rest } = v.labels;
        const key = JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
        const g = groups.get(key);
        if (g === undefined) groups.set(key, { labels: v.labels, values: [v.value] });
        else {
          g.values.push(v.value);
          if (g.labels.host === "" && v.labels.host !== "") g.labels = v.labels;
        }
      }
    }
    const values = [...groups.values()].map((g) => ({ labels: g.labels, value: reduce(g.values) }));
    return { help: first.help, name: first.name, type: first.type, aggregator: first.aggregator, values } as MetricJson;
  };
}

/** Registers the per-remote aggregators with prom-client; the primary calls it before it aggregates. */
export function useClusterAggregators(): void {
  // prom-client exports its aggregator table for custom ones, though its typings do not declare it.
  const registered = (promClient as unknown as { aggregators: Record<string, (metrics: MetricJson[]) => MetricJson | undefined> }).aggregators;
  registered[PER_REMOTE_AGGREGATORS.sum] = perRemote((v) => v.reduce((a, b) => a + b, 0));
  registered[PER_REMOTE_AGGREGATORS.average] = perRemote((v) => v.reduce((a, b) => a + b, 0) / v.length);
}
