/**
 * The primary of worker mode (docs/workers.md). It forks the workers, lets
 * node:cluster share the client listeners among them (each worker accepts
 * from the shared socket itself), restarts a worker that
 * dies (its clients reconnect to the shared port and land on a live worker),
 * owns the process signals and passes them to every worker, and serves the
 * one monitor: /metrics from prom-client's cluster aggregator, /connz, /varz
 * and /readyz from snapshots every worker sends on request.
 */
import cluster, { type Worker } from "node:cluster";
import { hostname } from "node:os";
import { AggregatorRegistry } from "prom-client";
import { loadConfig } from "../config/load.js";
import type { GatewayConfig } from "../config/types.js";
import type { LevelControl, Logger } from "../obs/log.js";
import { wantsClosed } from "../obs/connz.js";
import { startMonitor, type Monitor } from "../obs/monitor.js";
import { useClusterAggregators, type MetricSources } from "../obs/metrics.js";
import { VERSION } from "../version.js";
import { mergeSnapshots } from "./merge.js";
import {
  isMessage, WORKER_COUNT_ENV, WORKER_INDEX_ENV, type StartedPorts, type ToPrimary, type ToWorker, type WorkerSnapshot,
} from "./messages.js";

export interface PrimaryRun {
  configPath: string;
  config: GatewayConfig;
  workers: number;
  log: Logger;
  levels: LevelControl;
}

/** How long a snapshot request waits for the workers. */
const SNAPSHOT_TIMEOUT_MS = 2000;
/** How long the workers have to start. */
const START_TIMEOUT_MS = 60_000;
/** Restart delay after a crash, doubling while a worker keeps crashing soon after its start. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 5000;
/** A worker that ran this long before dying is not crash-looping. */
const STABLE_MS = 10_000;

interface Slot {
  index: number;
  worker: Worker | null;
  startedAt: number;
  restartDelay: number;
  ports: StartedPorts | null;
  restarts: number;
}

export async function runPrimary(o: PrimaryRun): Promise<number> {
  const { log, workers: count } = o;
  let config = o.config;
  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({ index: i + 1, worker: null, startedAt: 0, restartDelay: RESTART_MIN_MS, ports: null, restarts: 0 }));
  let stopping: string | null = null;
  let lameDuck = false;
  const startedAt = new Date();
  const aggregator = new AggregatorRegistry();
  // The workers' per-link gauges name these: one series per remote (src/obs/metrics.ts).
  useClusterAggregators();

  let snapshotId = 0;
  const pending = new Map<number, { snaps: WorkerSnapshot[]; left: number; done: () => void }>();

  const fork = (slot: Slot): void => {
    const w = cluster.fork({ [WORKER_INDEX_ENV]: String(slot.index), [WORKER_COUNT_ENV]: String(count) });
    slot.worker = w;
    slot.startedAt = Date.now();
    slot.ports = null;
    w.on("message", (m: unknown) => {
      if (!isMessage<ToPrimary>(m)) return;
      if (m.type === "aaa:started") {
        slot.ports = m.ports;
        log.info("worker started", { worker: slot.index, pid: w.process.pid });
        // A worker started after a signal (a restart racing a shutdown) gets it too.
        if (stopping !== null) tell(slot, { type: "aaa:shutdown", reason: stopping });
        else if (lameDuck) tell(slot, { type: "aaa:lame-duck" });
      } else if (m.type === "aaa:snapshot") {
        const p = pending.get(m.id);
        if (!p) return;
        p.snaps.push(m.snap);
        if (--p.left <= 0) p.done();
      }
    });
    w.on("exit", (code, signal) => {
      if (slot.worker !== w) return;
      slot.worker = null;
      if (stopping !== null || lameDuck) {
        log.info("worker stopped", { worker: slot.index, code, signal: signal ?? undefined });
        if (slots.every((s) => s.worker === null)) allStopped();
        return;
      }
      const ranMs = Date.now() - slot.startedAt;
      slot.restartDelay = ranMs > STABLE_MS ? RESTART_MIN_MS : Math.min(slot.restartDelay * 2, RESTART_MAX_MS);
      slot.restarts++;
      log.error("worker exited; restarting it (its clients reconnect to the other workers or to the new one)", {
        worker: slot.index, code, signal: signal ?? undefined, restart_in_ms: slot.restartDelay, restarts: slot.restarts,
      });
      setTimeout(() => {
        if (stopping === null && !lameDuck && slot.worker === null) fork(slot);
      }, slot.restartDelay);
    });
  };

  const tell = (slot: Slot, m: ToWorker): void => {
    const w = slot.worker;
    if (w && w.isConnected()) w.send(m);
  };
  const tellAll = (m: ToWorker): void => {
    for (const s of slots) tell(s, m);
  };

  /** Every live worker's snapshot (those that do not answer in time are left out). */
  const snapshots = (connz: boolean, closed: boolean): Promise<WorkerSnapshot[]> => {
    const live = slots.filter((s) => s.worker?.isConnected() && s.ports !== null);
    const id = ++snapshotId;
    return new Promise((resolve) => {
      const snaps: WorkerSnapshot[] = [];
      const finish = (): void => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(snaps.sort((a, b) => a.worker - b.worker));
      };
      const timer = setTimeout(finish, SNAPSHOT_TIMEOUT_MS);
      pending.set(id, { snaps, left: live.length, done: finish });
      if (live.length === 0) finish();
      for (const s of live) tell(s, { type: "aaa:snapshot", id, connz, closed });
    });
  };

  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  let monitor: Monitor | null = null;
  let exitCode = 0;
  const allStopped = (): void => {
    void (monitor?.close() ?? Promise.resolve()).then(() => {
      log.info("aaa-leafnode stopped", { workers: count });
      resolveExit(exitCode);
    });
  };

  cluster.schedulingPolicy = schedulingPolicy(process.env);
  cluster.setupPrimary({ silent: false });
  for (const s of slots) fork(s);
  const allStarted = await waitForStart(slots, () => stopping !== null);
  if (!allStarted) {
    log.error("workers did not start", { started: slots.filter((s) => s.ports !== null).length, workers: count });
    stopping = "start failed";
    exitCode = 1;
    for (const s of slots) s.worker?.kill("SIGKILL");
    if (slots.every((s) => s.worker === null)) return 1;
    return exited;
  }
  const ports = slots[0]!.ports!;

  // The merged view the monitor reads; refreshed from the workers before each request.
  let view: MetricSources = mergeSnapshots([], count, "starting");
  let varzWorkers: WorkerSnapshot[] = [];
  const why = (): string | null => (lameDuck ? "lame duck mode" : stopping !== null ? "shutting down" : null);
  if (config.statsPort !== 0) {
    const sources = new Proxy({} as MetricSources, { get: (_t, k: keyof MetricSources) => view[k] });
    monitor = await startMonitor({
      host: config.statsAddress,
      port: config.statsPort < 0 ? 0 : config.statsPort,
      registry: { contentType: aggregator.contentType, metrics: () => aggregator.clusterMetrics() },
      sources,
      log: log.child({ component: "monitor" }),
      refresh: async (path, query) => {
        const connz = path === "/connz";
        const snaps = await snapshots(connz, connz && wantsClosed(query));
        varzWorkers = snaps;
        view = mergeSnapshots(snaps, count, why());
      },
      info: () => ({
        server_name: config.serverName || hostname(),
        version: VERSION,
        start: startedAt.toISOString(),
        uptime_seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
        client_port: ports.clientPort,
        websocket_port: ports.websocketPort,
        workers: count,
        lame_duck: lameDuck,
        worker_rss_bytes: varzWorkers.reduce((n, s) => n + s.rssBytes, 0),
        worker_details: varzWorkers.map((s) => ({ worker: s.worker, pid: s.pid, server_id: s.varz["server_id"], connections: s.connections, ready: s.ready })),
      }),
    });
  }

  const shutdown = (reason: string): void => {
    if (stopping !== null) return;
    stopping = reason;
    log.info("shutting down", { signal: reason, workers: count });
    tellAll({ type: "aaa:shutdown", reason });
    const hardStop = setTimeout(() => {
      log.error("soft shutdown timeout passed; killing the remaining workers");
      exitCode = 1;
      for (const s of slots) s.worker?.kill("SIGKILL");
    }, config.softShutdownTimeout + 3000);
    hardStop.unref();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGUSR2", () => {
    if (lameDuck || stopping !== null) return;
    lameDuck = true;
    log.warn("entering lame duck mode", { workers: count });
    // Each worker runs the window and exits; the primary exits when the last one has.
    tellAll({ type: "aaa:lame-duck" });
  });
  process.on("SIGHUP", () => {
    // Checked here first so a bad file is refused once, not once per worker.
    try {
      const next = loadConfig(o.configPath).config;
      if ((next.workers ?? 1) !== (o.config.workers ?? 1)) log.warn("a change of the worker count takes effect on restart", { running: count });
      config = next;
      o.levels.level = next.logLevel;
    } catch (err) {
      log.error("reload refused: configuration has errors; keeping the running one", { error: err });
      return;
    }
    tellAll({ type: "aaa:reload" });
  });

  log.info("aaa-leafnode started", {
    version: VERSION,
    workers: count,
    scheduling: cluster.schedulingPolicy === cluster.SCHED_RR ? "rr" : "none",
    client_port: ports.clientPort,
    websocket_port: ports.websocketPort || undefined,
    stats_port: monitor?.port || undefined,
    login_relay_port: ports.loginRelayPort || undefined,
    upstream: config.leafRemotes[0]?.urls ?? "standalone",
  });
  return exited;
}

/**
 * How connections reach the workers: by default each worker accepts from the
 * shared listening socket itself (SCHED_NONE). node:cluster's round robin
 * (SCHED_RR, its Linux default) makes the primary accept every connection and
 * pass it to a worker over IPC, one at a time per worker with an acknowledgement
 * each, on a listening socket it opens with the default backlog of 511 rather
 * than the listeners' 4096: a serial hop and a shallow accept queue in front of
 * every TLS handshake (docs/workers.md#connection-storms). An operator's
 * NODE_CLUSTER_SCHED_POLICY (`rr` or `none`) is kept.
 */
export function schedulingPolicy(env: NodeJS.ProcessEnv): number {
  return env["NODE_CLUSTER_SCHED_POLICY"] === "rr" ? cluster.SCHED_RR : cluster.SCHED_NONE;
}

/** Resolves true once every slot reported its ports, false if one died first or time ran out. */
function waitForStart(slots: Slot[], abandoned: () => boolean): Promise<boolean> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  return new Promise((resolve) => {
    const check = (): void => {
      if (slots.every((s) => s.ports !== null)) return resolve(true);
      if (abandoned() || Date.now() > deadline || slots.some((s) => s.worker === null || s.worker.isDead())) return resolve(false);
      setTimeout(check, 20);
    };
    check();
  });
}
