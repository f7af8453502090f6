/**
 * What the primary and its workers say to each other over the cluster IPC
 * channel (worker mode, docs/workers.md). The primary owns the signals and
 * the monitor; a worker owns a Gateway. Commands go down (reload, lame duck,
 * shutdown, snapshot), facts come up (started, snapshot). prom-client's
 * aggregator uses the same channel with its own message types, which both
 * sides ignore here.
 */
import type { ConnzEntry, LeafnodeStats } from "../obs/metrics.js";

/** Environment variables a forked worker finds its place in. */
export const WORKER_INDEX_ENV = "AAA_LEAFNODE_WORKER";
export const WORKER_COUNT_ENV = "AAA_LEAFNODE_WORKERS";

/** Everything one worker's MetricSources read at one instant, as plain data. */
export interface WorkerSnapshot {
  worker: number;
  pid: number;
  rssBytes: number;
  connections: number;
  totalConnections: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  slowConsumers: number;
  subscriptions: number;
  closeReasons: Record<string, number>;
  authOutcomes: Record<string, number>;
  permissionViolations: Record<string, number>;
  rewrittenInboxes: number;
  lifecycleFiltered: number;
  writePoolBytes: number;
  leafnode: LeafnodeStats;
  websocket: { upgrades: number; rejected: Record<string, number> } | null;
  loginRelay: Record<string, number> | null;
  /** Only when the primary asked for it (/connz). */
  connz: ConnzEntry[] | null;
  /** Recently closed connections, only when asked for (/connz?state=closed or all). */
  closedConnz: ConnzEntry[] | null;
  ready: boolean;
  readyReason: string;
  varz: Record<string, unknown>;
}

export interface StartedPorts {
  clientPort: number;
  websocketPort: number;
  loginRelayPort: number;
}

/** Primary → worker. */
export type ToWorker =
  | { type: "aaa:reload" }
  | { type: "aaa:lame-duck" }
  | { type: "aaa:shutdown"; reason: string }
  | { type: "aaa:snapshot"; id: number; connz: boolean; closed: boolean };

/** Worker → primary. */
export type ToPrimary =
  | { type: "aaa:started"; ports: StartedPorts }
  | { type: "aaa:snapshot"; id: number; snap: WorkerSnapshot };

export function isMessage<T extends { type: string }>(m: unknown): m is T {
  return typeof m === "object" && m !== null && typeof (m as { type?: unknown }).type === "string" &&
    (m as { type: string }).type.startsWith("aaa:");
}
