/**
 * The HTTP monitor on `plugin.choria.stats_address:stats_port`: Prometheus
 * text on /metrics (and /choria/prometheus and /choria/metrics, where Choria
 * serves it), Choria's build and system index on /choria/, liveness on
 * /healthz, readiness on /readyz (503 with the reason while the upstream is
 * down), nats-server's JSON shapes on /varz, /connz, /subsz and /leafz (for
 * what a leaf has, so NATS tooling reads them), and a small HTML status page
 * on / linking them all. It is read-only, answers only GET and HEAD, and
 * treats every query string as untrusted: a bad parameter falls back to its
 * default instead of failing (except a /subsz test subject that is not a
 * valid literal subject: 400 with nats-server's text). It reads the same
 * MetricSources as the metrics, so it never touches the data path beyond
 * those snapshots. The upstream is a list of links, one per remote.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus } from "node:os";
import { GatewayError } from "../errors.js";
import { isValidLiteralSubject, subjectMatches } from "../subject/subject.js";
import type { Logger } from "./log.js";
import { connzPage } from "./connz.js";
import { linkCount, remoteLinks, remoteUpState, type MetricSources, type RemoteLinkStats } from "./metrics.js";
import { boolParam, goDuration, intParam, subDetail } from "./nats_json.js";
import { statusPage } from "./status_page.js";
import type { RemoteStatus } from "../upstream/leaf_conn.js";

export interface MonitorOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  registry: { readonly contentType: string; metrics(): Promise<string> };
  sources: MetricSources;
  /** Called before each request is answered (worker mode gathers the workers' snapshots here). */
  refresh?: (path: string, query: URLSearchParams) => Promise<void>;
  log: Logger;
  /** Server identity for /varz, e.g. { server_id, server_name, version, start, uptime }. */
  info(): Record<string, unknown>;
  /** Who this gateway is, for /choria/, /leafz, /subsz and the status page (default: read from info()). */
  about?(): About;
}

/** The gateway's identity as the monitor shows it. */
export interface About {
  serverId: string;
  serverName: string;
  /** Choria identity (the `identity` label of the Choria metrics). */
  identity: string;
  version: string;
  /** Commit of the build, when known ("" otherwise). */
  sha: string;
  /** The broker.conf in use ("" when started without one). */
  configFile: string;
  /** max_connections (0 = unlimited). */
  maxConnections: number;
  startedAt: Date;
}

export interface Monitor {
  /** The port actually bound. */
  port: number;
  close(): Promise<void>;
}

/** nats-server's default /subsz page size. */
const defaultSubszLimit = 1024;

/** Every path the monitor answers, with what the status page calls it. */
export const ENDPOINTS: readonly { path: string; title: string }[] = [
  { path: "/varz", title: "General" },
  { path: "/connz", title: "Connections" },
  { path: "/subsz", title: "Subscriptions" },
  { path: "/leafz", title: "LeafNodes" },
  { path: "/healthz", title: "Health Probe" },
  { path: "/readyz", title: "Readiness Probe" },
  { path: "/metrics", title: "Prometheus Metrics" },
  { path: "/choria/", title: "Choria" },
  { path: "/choria/prometheus", title: "Choria Prometheus Metrics" },
  { path: "/choria/metrics", title: "Choria Metrics" },
];
const known = new Set(["/", ...ENDPOINTS.map((e) => e.path)]);

function send(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string, extra?: Record<string, string>): void {
  const buf = Buffer.from(body, "utf8");
  res.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": String(buf.length),
    "Cache-Control": "no-store",
    ...extra,
  });
  // HEAD gets the headers of GET and no body.
  res.end(req.method === "HEAD" ? undefined : buf);
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown, extra?: Record<string, string>): void {
  send(req, res, status, "application/json; charset=utf-8", JSON.stringify(value, null, 2) + "\n", extra);
}

/** nats-server's /leafz: one entry per connected link (the gateway is the spoke). */
function leafz(sources: MetricSources, about: About, q: URLSearchParams): Record<string, unknown> {
  const withSubs = boolParam(q, "subs");
  const acc = q.get("acc");
  const leafs = remoteLinks(sources.leafnode())
    .filter((l) => l.connected > 0 && (!acc || l.account === acc))
    .map((l, i) => leafInfo(l, i + 1, withSubs));
  return { server_id: about.serverId, now: new Date().toISOString(), leafnodes: leafs.length, leafs };
}

function leafInfo(l: RemoteLinkStats, id: number, withSubs: boolean): Record<string, unknown> {
  return {
    id,
    name: l.remote,
    is_spoke: true,
    account: l.account ?? "",
    ip: l.host ?? "",
    port: l.port ?? 0,
    rtt: l.rttMs === undefined ? undefined : goDuration(l.rttMs),
    in_msgs: l.inMsgs,
    out_msgs: l.outMsgs,
    in_bytes: l.inBytes,
    out_bytes: l.outBytes,
    subscriptions: l.subscriptions ?? 0,
    subscriptions_list: withSubs ? (l.subjects?.() ?? []) : undefined,
  };
}

/** nats-server's /subsz: the count, and with subs=1 one page of the subscriptions (optionally those a literal `test` subject would reach). */
function subsz(sources: MetricSources, about: About, q: URLSearchParams): Record<string, unknown> | string {
  const offset = intParam(q, "offset", 0);
  const rawLimit = intParam(q, "limit", defaultSubszLimit);
  const limit = rawLimit > 0 ? rawLimit : defaultSubszLimit;
  const test = q.get("test");
  if (test !== null && test !== "" && !isValidLiteralSubject(test)) {
    return `invalid test subject, must be valid publish subject: ${test}`;
  }
  const page: Record<string, unknown> = {
    server_id: about.serverId,
    now: new Date().toISOString(),
    num_subscriptions: sources.subscriptions(),
    total: 0,
    offset,
    limit,
  };
  if (boolParam(q, "subs")) {
    const all = (sources.subsz?.() ?? [])
      .filter((s) => !test || subjectMatches(s.subject, test))
      .sort((a, b) => a.cid - b.cid || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
    page.total = all.length;
    page.subscriptions_list = all.slice(offset, offset + limit).map(subDetail);
  }
  return page;
}

/** Choria's /choria/ index: build and system facts. */
function choriaIndex(about: About): Record<string, unknown> {
  const uptimeUs = Math.max(1, (Date.now() - about.startedAt.getTime()) * 1000);
  const cpu = process.cpuUsage();
  return {
    build: {
      version: about.version,
      sha: about.sha,
      build_date: "",
      license: "Apache-2.0",
      tls: true,
      secure: true,
      go: "",
      node: process.version,
      max_broker_clients: about.maxConnections,
    },
    system: {
      rss: process.memoryUsage().rss,
      cpu_percent: Math.round(((cpu.user + cpu.system) / uptimeUs) * 10000) / 100,
      cpu_cores: cpus().length,
    },
    config_file: about.configFile,
    identity: about.identity,
  };
}

/** A remote's state, last error, failed attempts and next retry, as /varz spells them. */
function remoteStatusFields(s: RemoteStatus | undefined): Record<string, unknown> {
  if (s === undefined) return {};
  return {
    state: s.state,
    last_error: s.lastError?.text ?? null,
    last_error_code: s.lastError?.code ?? null,
    last_error_at: s.lastError?.at ?? null,
    // Worker mode: whose link it was.
    ...(s.lastError?.worker !== undefined ? { last_error_worker: s.lastError.worker } : {}),
    failed_attempts: s.failedAttempts,
    next_retry: s.nextRetryAt,
  };
}

function varz(sources: MetricSources, info: Record<string, unknown>): Record<string, unknown> {
  const leaf = sources.leafnode();
  return {
    ...info,
    now: new Date().toISOString(),
    mem: process.memoryUsage().rss,
    connections: sources.connections(),
    total_connections: sources.totalConnections(),
    routes: 0,
    remotes: 0,
    leafnodes: leaf.connected,
    in_msgs: sources.inMsgs(),
    out_msgs: sources.outMsgs(),
    in_bytes: sources.inBytes(),
    out_bytes: sources.outBytes(),
    slow_consumers: sources.slowConsumers(),
    subscriptions: sources.subscriptions(),
    ready: sources.ready(),
    leafnode: {
      configured: leaf.configured,
      connected: leaf.connected,
      rtt_ms: leaf.rttMs ?? null,
      in_msgs: leaf.inMsgs,
      out_msgs: leaf.outMsgs,
      in_bytes: leaf.inBytes,
      out_bytes: leaf.outBytes,
      reconnects: leaf.reconnects,
      buffered_msgs: leaf.bufferedMsgs,
      buffered_bytes: leaf.bufferedBytes,
      dropped_msgs: leaf.droppedMsgs,
      dropped_bytes: leaf.droppedBytes,
      remotes: (leaf.remotes ?? []).map((r) => ({
        remote: r.remote,
        // Every link of it (worker mode: every worker's); `links_connected` of `links` says how many.
        connected: r.connected >= linkCount(r),
        ...(r.links !== undefined ? { links: r.links, links_connected: r.connected } : {}),
        // Connected to, or while down the address being dialled or last dialled.
        url: r.host !== undefined ? `${r.host}:${r.port}` : (r.status?.url ?? null),
        ...remoteStatusFields(r.status),
        rtt_ms: r.rttMs ?? null,
        in_msgs: r.inMsgs,
        out_msgs: r.outMsgs,
        reconnects: r.reconnects,
        buffered_msgs: r.bufferedMsgs,
        buffered_bytes: r.bufferedBytes,
        dropped_msgs: r.droppedMsgs,
        refused_interest: r.refusedInterest ?? 0,
        buffer_limit_bytes: r.bufferLimitBytes ?? null,
        subscriptions: r.subscriptions ?? null,
      })),
    },
    auth: sources.authOutcomes(),
    permission_violations: sources.permissionViolations(),
    close_reasons: sources.closeReasons(),
  };
}

/** The gateway's identity, from `about()` or, without it, from the /varz info. */
function aboutOf(opts: MonitorOptions): About {
  if (opts.about) return opts.about();
  const i = opts.info();
  const text = (v: unknown): string => (typeof v === "string" ? v : "");
  const started = new Date(text(i.start));
  return {
    serverId: text(i.server_id), serverName: text(i.server_name), identity: text(i.server_name), version: text(i.version), sha: "",
    configFile: "", maxConnections: 0, startedAt: Number.isNaN(started.getTime()) ? new Date() : started,
  };
}

export function startMonitor(opts: MonitorOptions): Promise<Monitor> {
  const { registry, sources, log } = opts;

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? "/";
    const qAt = url.indexOf("?");
    const path = qAt < 0 ? url : url.slice(0, qAt);
    // URLSearchParams never throws, whatever the bytes.
    const query = new URLSearchParams(qAt < 0 ? "" : url.slice(qAt + 1));

    if (!known.has(path)) {
      sendJson(req, res, 404, { error: "not found", path });
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendJson(req, res, 405, { error: "method not allowed" }, { Allow: "GET, HEAD" });
      return;
    }

    if (opts.refresh && path !== "/metrics" && path !== "/choria/prometheus" && path !== "/healthz") await opts.refresh(path, query);
    switch (path) {
      case "/":
        send(req, res, 200, "text/html; charset=utf-8", statusPage({ about: aboutOf(opts), sources, endpoints: ENDPOINTS }));
        return;
      case "/metrics":
      case "/choria/prometheus":
      case "/choria/metrics":
        send(req, res, 200, registry.contentType, await registry.metrics());
        return;
      case "/healthz":
        sendJson(req, res, 200, { status: "ok" });
        return;
      case "/readyz":
        {
          // Each remote's link state, so a prober sees which hub is missing.
          const links = sources.leafnode().remotes;
          const remotes = links && links.length > 0 ? Object.fromEntries(links.map((r) => [r.remote, remoteUpState(r)])) : undefined;
          if (sources.ready()) sendJson(req, res, 200, { status: "ok", remotes });
          else sendJson(req, res, 503, { status: "unavailable", reason: sources.readyReason(), remotes });
        }
        return;
      case "/connz": {
        const page = connzPage(sources, aboutOf(opts).serverId, query);
        if (typeof page === "string") send(req, res, 400, "text/plain; charset=utf-8", page + "\n");
        else sendJson(req, res, 200, page);
        return;
      }
      case "/varz":
        sendJson(req, res, 200, varz(sources, opts.info()));
        return;
      case "/leafz":
        sendJson(req, res, 200, leafz(sources, aboutOf(opts), query));
        return;
      case "/subsz": {
        const page = subsz(sources, aboutOf(opts), query);
        if (typeof page === "string") send(req, res, 400, "text/plain; charset=utf-8", page + "\n");
        else sendJson(req, res, 200, page);
        return;
      }
      case "/choria/":
        sendJson(req, res, 200, choriaIndex(aboutOf(opts)));
        return;
    }
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      log.error("monitor request failed", { path: req.url, error: err });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // /readyz must not answer 500 as if it were a crash of the prober; a failing source means not ready.
      if (req.url?.startsWith("/readyz")) sendJson(req, res, 503, { status: "unavailable", reason: "readiness check failed" });
      else sendJson(req, res, 500, { error: "internal error" });
    });
  });

  return new Promise<Monitor>((resolve, reject) => {
    const onListenError = (err: Error): void => {
      reject(new GatewayError("GW_ERR_MONITOR_LISTEN", `monitor cannot listen on ${opts.host}:${opts.port}: ${err.message}`, { cause: err }));
    };
    server.once("error", onListenError);
    server.listen(opts.port, opts.host, () => {
      server.off("error", onListenError);
      server.on("error", (err) => log.error("monitor server error", { error: err }));
      const port = (server.address() as AddressInfo).port;
      log.info("monitor listening", { host: opts.host, port });
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive connections from scrapers would otherwise hold close() open.
            server.closeAllConnections();
          }),
      });
    });
  });
}
