/**
 * Worker mode's view for the monitor: the snapshots of every worker merged
 * into one MetricSources, so /connz, /varz and /readyz read as one server.
 * Counts add up, labelled counts add up per label, connections are listed
 * together (client ids are unique across workers), the upstream is "connected"
 * as a count of live links, and the whole is ready only when every expected
 * worker answered and is ready itself. Each remote stays one entry: every
 * worker has its own link to it, so the entry says how many of them are
 * connected, the worst state, the most recent error (and whose), the most
 * failed attempts in a row and the earliest retry, with the counters added up.
 */
import type { RemoteState, RemoteStatus } from "../upstream/leaf_conn.js";
import { type ConnzEntry, type LeafnodeStats, type MetricSources, type RemoteLinkStats, sumLinkCounters } from "../obs/metrics.js";
import type { WorkerSnapshot } from "./messages.js";

function addRecords(records: (Record<string, number> | null | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) {
    if (!r) continue;
    for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  }
  return out;
}

/** The mean of the finite round trips, undefined when none is known. */
function meanRtt(all: readonly { rttMs: number | undefined }[]): number | undefined {
  const rtts = all.map((l) => l.rttMs).filter((v): v is number => v !== undefined && Number.isFinite(v));
  return rtts.length > 0 ? rtts.reduce((a, b) => a + b, 0) / rtts.length : undefined;
}

/** Worse states last: one worker's link backing off makes the remote's state "backing off". */
const STATE_ORDER: readonly RemoteState[] = ["connected", "connecting", "backing off", "stopped"];

/** The workers' statuses of one remote's links as one (worker numbers go with their last errors). */
export function mergeStatus(all: readonly { worker: number; status: RemoteStatus }[]): RemoteStatus | undefined {
  if (all.length === 0) return undefined;
  const worst = all.reduce((w, s) => (STATE_ORDER.indexOf(s.status.state) > STATE_ORDER.indexOf(w.status.state) ? s : w));
  let lastError: RemoteStatus["lastError"] = null;
  for (const { worker, status } of all) {
    const e = status.lastError;
    if (e !== null && (lastError === null || Date.parse(e.at) > Date.parse(lastError.at))) lastError = { ...e, worker };
  }
  const retries = all.map((s) => s.status.nextRetryAt).filter((t): t is string => t !== null).sort((a, b) => Date.parse(a) - Date.parse(b));
  return {
    state: worst.status.state,
    url: worst.status.url ?? all.find((s) => s.status.url !== null)?.status.url ?? null,
    lastError,
    failedAttempts: Math.max(...all.map((s) => s.status.failedAttempts)),
    nextRetryAt: retries[0] ?? null,
  };
}

/** One remote's links, one per worker, as one entry (`subjects` does not cross the IPC: none here). */
function mergeRemote(remote: string, links: readonly { worker: number; link: RemoteLinkStats }[]): RemoteLinkStats {
  const all = links.map((l) => l.link);
  const sum = (f: (r: RemoteLinkStats) => number) => all.reduce((n, r) => n + f(r), 0);
  const up = all.filter((r) => r.connected > 0);
  const first = up[0] ?? all[0];
  const limits = all.map((r) => r.bufferLimitBytes).filter((v): v is number => v !== undefined);
  return {
    remote,
    connected: sum((r) => r.connected),
    links: sum((r) => r.links ?? 1),
    host: first?.host,
    port: first?.port,
    account: first?.account,
    rttMs: meanRtt(up),
    ...sumLinkCounters(all),
    refusedInterest: sum((r) => r.refusedInterest ?? 0),
    refusedPublishes: sum((r) => r.refusedPublishes ?? 0),
    // Each worker has its own outage buffer: the remote's bound is theirs together.
    bufferLimitBytes: limits.length > 0 ? limits.reduce((a, b) => a + b, 0) : undefined,
    subscriptions: sum((r) => r.subscriptions ?? 0),
    status: mergeStatus(links.flatMap(({ worker, link }) => (link.status ? [{ worker, status: link.status }] : []))),
  };
}

/** Every remote once, in the first worker's configuration order, merged across the workers. */
function mergeRemotes(snaps: readonly Pick<WorkerSnapshot, "worker" | "leafnode">[]): RemoteLinkStats[] | undefined {
  if (!snaps.some((s) => s.leafnode.remotes !== undefined)) return undefined;
  const byName = new Map<string, { worker: number; link: RemoteLinkStats }[]>();
  for (const s of snaps) {
    for (const link of s.leafnode.remotes ?? []) {
      const links = byName.get(link.remote) ?? [];
      links.push({ worker: s.worker, link });
      byName.set(link.remote, links);
    }
  }
  return [...byName].map(([remote, links]) => mergeRemote(remote, links));
}

/** The workers' upstream figures as one gateway's (exported for the unit tests). */
export function mergeLeafnodes(snaps: readonly Pick<WorkerSnapshot, "worker" | "leafnode">[]): LeafnodeStats {
  const all = snaps.map((s) => s.leafnode);
  const sum = (f: (l: LeafnodeStats) => number) => all.reduce((n, l) => n + f(l), 0);
  const first = all.find((l) => l.host !== undefined) ?? all[0];
  return {
    configured: sum((l) => l.configured),
    connected: sum((l) => l.connected),
    rttMs: meanRtt(all),
    ...sumLinkCounters(all),
    host: first?.host,
    port: first?.port,
    account: first?.account,
    remotes: mergeRemotes(snaps),
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
  const leafnode = mergeLeafnodes(snaps);
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
    writePoolBytes: () => sum((s) => s.writePoolBytes),
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
    writePoolBytes: sources.writePoolBytes(),
    leafnode: plainLeafnode(sources.leafnode()),
    websocket: sources.websocket ? sources.websocket() : null,
    loginRelay: sources.loginRelay ? sources.loginRelay() : null,
    connz: withConnz ? sources.connz() : null,
    closedConnz: withClosed ? (sources.closedConnz?.() ?? []) : null,
    ready: sources.ready(),
    readyReason: sources.readyReason(),
    varz,
  };
}

/** A LeafnodeStats without its functions (`subjects()`), which the IPC cannot carry. */
function plainLeafnode(l: LeafnodeStats): LeafnodeStats {
  if (l.remotes === undefined) return l;
  return { ...l, remotes: l.remotes.map(({ subjects: _subjects, ...r }) => r) };
}
