/**
 * Turns the raw runs into the comparison: per scenario and metric, the median
 * over the successful rounds on each leaf (or the first successful round's
 * figure, for metrics that ask for it), the min–max over those rounds (a
 * ratio whose ranges overlap is noise, not a result) and the ratio
 * gateway / peer (of the medians, with its min–max taken round by round), and renders it as a fixed-width text table. Every scenario
 * also gets CPU per unit of work for the leaf (with its workers) and for the
 * client processes that drove it. Scenarios with a baseline (the caller on
 * the hub itself, or a bare Node TLS server) get its figures too, the ratio
 * gateway / baseline, and a verdict on the metrics that carry a target
 * against it; with the hub as baseline, also the hub's CPU per unit on every
 * side. A ratio is
 * only a ratio: whether above 1 is good depends on the metric, so the table
 * says which way is better.
 */
import type { BaselineKind, MetricSpec, Scenario, TargetKind } from "./types.js";

export interface RunRecord {
  scenario: string;
  target: TargetKind;
  round: number;
  ok: boolean;
  error?: string;
  notes: string[];
  metrics: Record<string, number>;
  /** Wall time of the whole run, ms. */
  wallMs: number;
  /** The measured phase (see RunContext.measureStart) and the leaf's CPU time during it, ms (0 on the hub side: no leaf). */
  windowMs: number;
  leafCpuMs: number;
  /** CPU of the scenario's client processes over the same phase, ms. */
  clientCpuMs: number;
  /** CPU of the run's hub over the same phase, ms. */
  hubCpuMs: number;
}

export interface SummaryRow {
  scenario: string;
  metric: string;
  label: string;
  unit: string;
  better: MetricSpec["better"];
  peer: number | null;
  gateway: number | null;
  /** The scenario's baseline (the hub-side caller or the bare Node server; null without one). */
  baseline: number | null;
  /** Min and max over the rounds counted (null when none). */
  peerRange: [number, number] | null;
  gatewayRange: [number, number] | null;
  baselineRange: [number, number] | null;
  /** gateway / peer, null when either side has no successful run. */
  ratio: number | null;
  /** Min and max of gateway / peer taken round by round (the rounds where both succeeded; null with fewer than one). */
  ratioRange: [number, number] | null;
  /** gateway / baseline, null when either side has no successful run. */
  baselineRatio: number | null;
  /** Min and max of gateway / baseline round by round. */
  baselineRatioRange: [number, number] | null;
  /** The metric's target against the baseline (see MetricSpec.baselineTarget) and whether the medians meet it (null: no ratio). */
  baselineTarget?: { ratio: number; met: boolean | null };
  okRuns: { peer: number; gateway: number; baseline: number };
}

export function median(values: readonly number[]): number | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function summarize(scenarios: readonly Scenario[], runs: readonly RunRecord[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const s of scenarios) {
    const of = (t: TargetKind) => runs.filter((r) => r.scenario === s.id && r.target === t && r.ok);
    const peerRuns = of("peer"), gatewayRuns = of("gateway"), baseRuns = s.baseline ? of(s.baseline) : [];
    const extra: MetricSpec[] = [
      { key: "leafCpuShare", label: "leaf CPU / measured time", unit: "cores", better: "lower" },
      { key: "leafCpuPerUnit", label: `leaf CPU per ${s.unit}`, unit: "µs", better: "lower" },
      { key: "clientCpuPerUnit", label: `client CPU per ${s.unit}`, unit: "µs", better: "lower" },
    ];
    if (s.baseline === "hub") extra.push({ key: "hubCpuPerUnit", label: `hub CPU per ${s.unit}`, unit: "µs", better: "lower" });
    const perUnit = (ms: number, r: RunRecord) => ((r.metrics["units"] ?? 0) > 0 ? (ms * 1000) / r.metrics["units"]! : NaN);
    for (const m of [...s.metrics, ...extra]) {
      const value = (r: RunRecord): number => {
        // The hub-side caller has no leaf.
        if (m.key.startsWith("leafCpu") && r.target === "hub") return NaN;
        if (m.key === "leafCpuShare") return r.leafCpuMs / Math.max(r.windowMs, 1);
        if (m.key === "leafCpuPerUnit") return perUnit(r.leafCpuMs, r);
        if (m.key === "clientCpuPerUnit") return perUnit(r.clientCpuMs, r);
        if (m.key === "hubCpuPerUnit") return perUnit(r.hubCpuMs, r);
        return r.metrics[m.key] ?? NaN;
      };
      const counted = (rs: RunRecord[]) => (m.aggregate === "first" ? rs.slice(0, 1) : rs).map(value);
      /** gateway / other, round by round, over the rounds both sides have. */
      const roundRatios = (other: RunRecord[]): number[] => (m.aggregate === "first" ? [] : gatewayRuns.map((g) => {
        const o = other.find((r) => r.round === g.round);
        return o === undefined ? NaN : ratioOf(value(g), value(o)) ?? NaN;
      }));
      const peer = median(counted(peerRuns)), gateway = median(counted(gatewayRuns)), baseline = median(counted(baseRuns));
      const baselineRatio = ratioOf(gateway, baseline);
      const row: SummaryRow = { scenario: s.id, metric: m.key, label: m.label, unit: m.unit, better: m.better,
        peer, gateway, baseline, ratio: ratioOf(gateway, peer), baselineRatio,
        ratioRange: range(roundRatios(peerRuns)), baselineRatioRange: range(roundRatios(baseRuns)),
        peerRange: range(counted(peerRuns)), gatewayRange: range(counted(gatewayRuns)), baselineRange: range(counted(baseRuns)),
        okRuns: { peer: peerRuns.length, gateway: gatewayRuns.length, baseline: baseRuns.length } };
      const t = m.baselineTarget;
      if (s.baseline && t !== undefined) {
        row.baselineTarget = { ratio: t, met: baselineRatio === null ? null : m.better === "lower" ? baselineRatio <= t : baselineRatio >= t };
      }
      rows.push(row);
    }
  }
  return rows;
}

function ratioOf(a: number | null, b: number | null): number | null {
  return a !== null && b !== null && b !== 0 ? a / b : null;
}

function range(values: number[]): [number, number] | null {
  const v = values.filter((x) => Number.isFinite(x));
  return v.length === 0 ? null : [Math.min(...v), Math.max(...v)];
}

/** "median (min–max)"; the range only when there was more than one distinct value. */
function withRange(v: number | null, r: [number, number] | null): string {
  if (v === null || r === null || r[0] === r[1]) return fmt(v);
  return `${fmt(v)} (${fmt(r[0])}–${fmt(r[1])})`;
}

function fmt(v: number | null): string {
  if (v === null) return "—";
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString("en-US");
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** How the table names each baseline, and the line that says what it is. */
const BASELINES: Record<BaselineKind, { name: string; what: string }> = {
  hub: { name: "hub-side", what: "hub-side: the same caller on the hub's own client port, no leaf in between; anonymous TLS like the leaf callers" },
  node: { name: "Node limit", what: "Node limit: a bare Node TLS server (bench/proc/bare_tls.ts) with the same certificate: INFO, TLS, CONNECT, PONG, one echoed request; no routing, no AAA" },
};

export function renderTable(scenarios: readonly Scenario[], rows: readonly SummaryRow[], failures: readonly RunRecord[]): string {
  // The baseline columns only when a scenario of this table has a baseline.
  const baseCols = scenarios.some((s) => s.baseline);
  const header = ["metric", "unit", "peer leaf", "gateway", "gw/peer", ...(baseCols ? ["baseline", "gw/base"] : []), "better"];
  const ratioText = (r: number | null) => (r === null || !Number.isFinite(r) ? "—" : `${r.toFixed(2)}×`);
  // The ratio of the medians, and its min–max taken round by round.
  const ratioWithRange = (r: number | null, rr: [number, number] | null) =>
    (r === null || rr === null || rr[0] === rr[1] ? ratioText(r) : `${ratioText(r)} (${rr[0].toFixed(2)}–${rr[1].toFixed(2)})`);
  const body: string[][] = [];
  for (const s of scenarios) {
    const mine = rows.filter((r) => r.scenario === s.id);
    if (mine.length === 0) continue;
    const ok = mine[0]!.okRuns;
    const base = s.baseline ? BASELINES[s.baseline] : null;
    body.push([`[${s.id}] ${s.title} (ok runs: peer ${ok.peer}, gateway ${ok.gateway}${base ? `, ${base.name} ${ok.baseline}` : ""})`]);
    for (const r of mine) {
      const cols = !baseCols ? [] : base ? [withRange(r.baseline, r.baselineRange), ratioWithRange(r.baselineRatio, r.baselineRatioRange)] : ["", ""];
      body.push([`  ${r.label}`, r.unit, withRange(r.peer, r.peerRange), withRange(r.gateway, r.gatewayRange), ratioWithRange(r.ratio, r.ratioRange), ...cols, r.better]);
    }
    if (base) {
      body.push([`  baseline = ${base.what}`]);
      for (const r of mine) {
        const t = r.baselineTarget;
        if (t === undefined) continue;
        const verdict = t.met === null ? "no figure" : t.met ? "met" : "missed";
        body.push([`  target: gateway ${r.better === "lower" ? "≤" : "≥"} ${t.ratio}× ${base.name} on ${r.label}: ${ratioWithRange(r.baselineRatio, r.baselineRatioRange)}, ${verdict}`]);
      }
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.filter((b) => b.length > 1).map((b) => (b[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const b of body) out.push(b.length === 1 ? b[0]! : line(b));
  if (failures.length > 0) {
    out.push("", "Failed runs:");
    for (const f of failures) out.push(`  ${f.scenario} / ${f.target} / round ${f.round}: ${f.error ?? "failed"}`);
  }
  return out.join("\n");
}
