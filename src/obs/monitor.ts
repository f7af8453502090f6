/**
 * The HTTP monitor on `plugin.choria.stats_address:stats_port`: Prometheus
 * text on /metrics (and /choria/prometheus, where Choria serves it), liveness
 * on /healthz, readiness on /readyz (503 with the reason while the upstream is
 * down), and nats-server-like JSON on /connz and /varz for operators. It is
 * read-only, answers only GET and HEAD, and treats every query string as
 * untrusted: a bad parameter falls back to its default instead of failing.
 * It reads the same MetricSources as the metrics, so it never touches the
 * data path beyond those snapshots.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { GatewayError } from "../errors.js";
import type { Logger } from "./log.js";
import type { ConnzEntry, MetricSources } from "./metrics.js";

export interface MonitorOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  registry: { readonly contentType: string; metrics(): Promise<string> };
  sources: MetricSources;
  /** Called before each request is answered (worker mode gathers the workers' snapshots here). */
  refresh?: (path: string) => Promise<void>;
  log: Logger;
  /** Server identity for /varz, e.g. { server_id, server_name, version, start, uptime }. */
  info(): Record<string, unknown>;
}

export interface Monitor {
  /** The port actually bound. */
  port: number;
  close(): Promise<void>;
}

/** nats-server's default /connz page size. */
const defaultConnzLimit = 1024;

/** A non-negative integer query parameter, or `fallback` for anything else. */
function intParam(q: URLSearchParams, name: string, fallback: number): number {
  const raw = q.get(name);
  if (raw === null || !/^\d{1,9}$/.test(raw)) return fallback;
  return Number(raw);
}

/** nats-server accepts subs=1, subs=true and subs=detail. */
function boolParam(q: URLSearchParams, name: string): boolean {
  const raw = q.get(name);
  return raw === "1" || raw === "true" || raw === "detail";
}

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

function connzPage(sources: MetricSources, q: URLSearchParams): Record<string, unknown> {
  const offset = intParam(q, "offset", 0);
  const limit = intParam(q, "limit", defaultConnzLimit);
  const withSubs = boolParam(q, "subs");
  const all = sources.connz().slice().sort((a, b) => a.cid - b.cid);
  const page = all.slice(offset, offset + limit).map((c): ConnzEntry => {
    if (withSubs) return { ...c, subjects: c.subjects ?? [] };
    const { subjects: _omit, ...rest } = c;
    return rest;
  });
  return {
    now: new Date().toISOString(),
    num_connections: page.length,
    total: all.length,
    offset,
    limit,
    connections: page,
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
        connected: r.connected === 1,
        url: r.host !== undefined ? `${r.host}:${r.port}` : null,
        rtt_ms: r.rttMs ?? null,
        in_msgs: r.inMsgs,
        out_msgs: r.outMsgs,
        reconnects: r.reconnects,
        buffered_msgs: r.bufferedMsgs,
        buffered_bytes: r.bufferedBytes,
        dropped_msgs: r.droppedMsgs,
        refused_interest: r.refusedInterest ?? 0,
      })),
    },
    auth: sources.authOutcomes(),
    permission_violations: sources.permissionViolations(),
    close_reasons: sources.closeReasons(),
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

    const known = path === "/metrics" || path === "/choria/prometheus" || path === "/healthz" ||
      path === "/readyz" || path === "/connz" || path === "/varz";
    if (!known) {
      sendJson(req, res, 404, { error: "not found", path });
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendJson(req, res, 405, { error: "method not allowed" }, { Allow: "GET, HEAD" });
      return;
    }

    if (opts.refresh && path !== "/metrics" && path !== "/choria/prometheus" && path !== "/healthz") await opts.refresh(path);
    switch (path) {
      case "/metrics":
      case "/choria/prometheus":
        send(req, res, 200, registry.contentType, await registry.metrics());
        return;
      case "/healthz":
        sendJson(req, res, 200, { status: "ok" });
        return;
      case "/readyz":
        {
          // Each remote's link state, so a prober sees which hub is missing.
          const links = sources.leafnode().remotes;
          const remotes = links && links.length > 0 ? Object.fromEntries(links.map((r) => [r.remote, r.connected === 1 ? "connected" : "down"])) : undefined;
          if (sources.ready()) sendJson(req, res, 200, { status: "ok", remotes });
          else sendJson(req, res, 503, { status: "unavailable", reason: sources.readyReason(), remotes });
        }
        return;
      case "/connz":
        sendJson(req, res, 200, connzPage(sources, query));
        return;
      case "/varz":
        sendJson(req, res, 200, varz(sources, opts.info()));
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
