/**
 * What a benchmark scenario is, and what it gets to run against one leaf.
 * A scenario starts its own client workers (through the run's WorkerPool,
 * which the runner stops afterwards whatever happens), drives them, and
 * returns named figures; the runner runs it against the peer leaf and the
 * gateway alternately and compares medians. A scenario may also ask for a
 * third side, the same clients sitting on the hub itself (no leaf in between),
 * the baseline a leaf is judged against. A scenario must bound every wait
 * with a time limit and may throw: the runner records the failure and moves on.
 */
import type { ServerKeyType } from "../../src/devkit/pki.js";
import type { ClientSpec } from "../proc/protocol.js";
import type { WorkerPool } from "../proc/pool.js";

/**
 * The two leaves, and the baselines a scenario may add: "hub", the
 * scenario's clients on the hub's own client port (no leaf); "node", a bare
 * Node TLS server (bench/proc/bare_tls.ts), the platform's own limit.
 */
export type TargetKind = "peer" | "gateway" | BaselineKind;
export type BaselineKind = "hub" | "node";

/** What a scenario run measures: a leaf, the hub's client port itself (kind "hub") or the bare Node server ("node"). */
export interface Target {
  readonly kind: TargetKind;
  readonly url: string;
  /** The leaf's process id (for RSS / CPU readings); for kind "hub", the hub's. */
  readonly pid: number;
  /**
   * A client of this leaf for caller `callerid`: for the gateway with its own
   * AAA token (fleet_management, pub `bench.>`, sub `bench.sub.>`,
   * `bench.shared.>`, `bench.ready.>`) and key; inbox prefix
   * `choria.reply.<md5 of callerid>` on both leaves.
   */
  client(callerid: string): ClientSpec;
  /** `choria.reply.<md5 of callerid>`: the caller's private reply prefix. */
  replyPrefix(callerid: string): string;
}

export interface RunContext {
  readonly target: Target;
  readonly pool: WorkerPool;
  /** A plain client of the hub (the simulated fleet side). */
  hubClient(name: string): ClientSpec;
  /** Unique per run; put it in subjects so runs never see each other's traffic. */
  readonly runId: string;
  /** Multiplies message and client counts (1 = the figures of issue 6). */
  readonly scale: number;
  /** Resident memory of a process in KiB. */
  readRssKiB(pid: number): number;
  /** Mark the measured phase (the leaf's CPU share is taken over it; default: the whole run). */
  measureStart(): void;
  measureEnd(): void;
  /** Record a remark on this run (e.g. the first error of a partial failure); kept in the JSON. */
  note(text: string): void;
}

export interface MetricSpec {
  key: string;
  label: string;
  unit: string;
  better: "higher" | "lower";
  /** "first": summarize by the earliest successful round only (figures later rounds distort, e.g. memory). */
  aggregate?: "median" | "first";
  /**
   * Target against the scenario's baseline: the gateway's median may be at
   * most (better "lower") or must be at least (better "higher") this multiple
   * of the baseline's.
   */
  baselineTarget?: number;
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  /**
   * What one unit of work is ("msg", "conn", "reply", "request"): run() returns
   * how many were done as the `units` figure, and the runner divides each
   * side's CPU time over the measured phase by it.
   */
  readonly unit: string;
  readonly metrics: readonly MetricSpec[];
  /** Time limit of one run, ms. */
  readonly timeoutMs: number;
  /**
   * Also run the scenario, in the same rounds after the peer and the gateway,
   * against a baseline a leaf can only approach: "hub", its leaf-side clients
   * connected straight to the hub (anonymous TLS like the leaf callers);
   * "node", a bare Node TLS server doing only the connection and an echo.
   */
  readonly baseline?: BaselineKind;
  /**
   * The key of the certificate the leaves (and the bare Node server) present
   * on their client ports in this scenario: the runner restarts them to
   * change it. A scenario without it runs on whatever the leaves have (the
   * run starts with "ec-p256"), so ALL_SCENARIOS lists those that set another last.
   */
  readonly serverCert?: ServerKeyType;
  run(ctx: RunContext): Promise<Record<string, number>>;
}

/** Round a count scaled by `scale` to at least `min`. */
export function scaled(base: number, scale: number, min = 1): number {
  return Math.max(min, Math.round(base * scale));
}

/** Split `total` into `parts` near-equal positive shares. */
export function split(total: number, parts: number): number[] {
  const n = Math.max(1, Math.min(parts, total));
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}
