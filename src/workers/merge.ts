/**
 * Worker mode's view for the monitor: the snapshots of every worker merged
 * into one MetricSources, so /connz, /varz and /readyz read as one server.
 * Counts add up, labelled counts add up per label, connections are listed
 * together (client ids are unique across workers), the upstream is "connected"
 * as a count of live links, and the whole is ready only when every expected
 * worker answered and is ready itself.
 */
import { type ConnzEntry, type LeafnodeStats, type MetricSources, sumLinkCounters } from "../obs/metrics.js";
import type { WorkerSnapshot } from "./messages.js";

function addRecords(records: (Record<string, number> | null | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) {
    if (!r) continue;
    for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  }
  return out;
}

function mergeLeafnodes(all: LeafnodeStats[]): LeafnodeStats {
  const sum = (f: (l: LeafnodeStats) => number) => all.reduce((n, l) => n + f(l), 0);
  const rtts = all.map((l) => l.rttMs).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const first = all.find((l) => l.host !== undefined) ?? all[0];
  return {
    configured: sum((l) => l.configured),
    connected: sum((l) => l.connected),
    rttMs: rtts.length > 0 ? rtts.reduce((a, b) => a + b, 0) / rtts.length : undefined,
    ...sumLinkCounters(all),
    host: first?.host,
    port: first?.port,
    account: first?.account,
  };
}

/**
 * One MetricSources over `snaps`. `expected` workers should have answered;
 * `why` explains a state the primary itself is in (lame duck, shutting down).
 */
export function mergeSnapshots(snaps: WorkerSnapshot[], expected: number, why: string | null): MetricSources {
  const sum = (f: (s: WorkerSnapshot) => number) => snaps.reduce((n, s) => n + f(s), 0);
  const missing = expected - snaps.length;
  const notReady = snaps.find((s) => !s.ready);
  const ready = why === null && missing <= 0 && notReady === undefined;
  const reason = ready ? "ok" : why ?? (missing > 0 ? `${missing} of ${expected} workers not answering` : `worker ${notReady!.worker}: ${notReady!.readyReason}`);
  const leafnode = mergeLeafnodes(snaps.map((s) => s.leafnode));
  const connz: ConnzEntry[] = snaps.flatMap((s) => s.connz ?? []);
  const closedConnz: ConnzEntry[] = snaps.flatMap((s) => s.closedConnz ?? []);
  const ws = snaps.filter((s) => s.websocket !== null);
  const relays = snaps.filter((s) => s.loginRelay !== null);
  const sources: MetricSources = {
    connections: () => sum((s) => s.connections),
    totalConnections: () => sum((s) => s.totalConnections),
    inMsgs: () => sum((s) => s.inMsgs),
    outMsgs: () => sum((s) => s.outMsgs),
    inBytes: () => sum((s) => s.inBytes),
    outBytes: () => sum((s) => s.outBytes),
    slowConsumers: () => sum((s) => s.slowConsumers),
    subscriptions: () => sum((s) => s.subscriptions),
    closeReasons: () => addRecords(snaps.map((s) => s.closeReasons)),
    authOutcomes: () => addRecords(snaps.map((s) => s.authOutcomes)),
    permissionViolations: () => addRecords(snaps.map((s) => s.permissionViolations)),
    rewrittenInboxes: () => sum((s) => s.rewrittenInboxes),
    lifecycleFiltered: () => sum((s) => s.lifecycleFiltered),
    leafnode: () => leafnode,
    connz: () => connz,
    closedConnz: () => closedConnz,
    ready: () => ready,
    readyReason: () => reason,
  };
  if (ws.length > 0) {
    sources.websocket = () => ({
      upgrades: ws.reduce((n, s) => n + s.websocket!.upgrades, 0),
      rejected: addRecords(ws.map((s) => s.websocket!.rejected)),
    });
  }
  if (relays.length > 0) sources.loginRelay = () => addRecords(relays.map((s) => s.loginRelay));
  return sources;
}

/** Take every value out of a live MetricSources (in a worker) as plain data. */
export function snapshotOf(
  worker: number, sources: MetricSources, varz: Record<string, unknown>, withConnz: boolean, withClosed: boolean,
): WorkerSnapshot {
  return {
    worker,
    pid: process.pid,
    rssBytes: process.memoryUsage.rss(),
    connections: sources.connections(),
    totalConnections: sources.totalConnections(),
    inMsgs: sources.inMsgs(),
    outMsgs: sources.outMsgs(),
    inBytes: sources.inBytes(),
    outBytes: sources.outBytes(),
    slowConsumers: sources.slowConsumers(),
    subscriptions: sources.subscriptions(),
    closeReasons: { ...sources.closeReasons() },
    authOutcomes: { ...sources.authOutcomes() },
    permissionViolations: { ...sources.permissionViolations() },
    rewrittenInboxes: sources.rewrittenInboxes(),
    lifecycleFiltered: sources.lifecycleFiltered(),
    leafnode: sources.leafnode(),
    websocket: sources.websocket ? sources.websocket() : null,
    loginRelay: sources.loginRelay ? sources.loginRelay() : null,
    connz: withConnz ? sources.connz() : null,
    closedConnz: withClosed ? (sources.closedConnz?.() ?? []) : null,
    ready: sources.ready(),
    readyReason: sources.readyReason(),
    varz,
  };
}
