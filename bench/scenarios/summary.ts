/**
 * Turns the raw runs into the comparison: per scenario and metric, the median
 * over the successful rounds on each leaf (or the first successful round's
 * figure, for metrics that ask for it), the min–max over those rounds (a
 * ratio whose ranges overlap is noise, not a result) and the ratio
 * gateway / peer, and renders it as a fixed-width text table. Every scenario
 * also gets CPU per unit of work for the leaf (with its workers) and for the
 * client processes that drove it. Scenarios with a hub-side baseline get its
 * figures too, the ratio gateway / hub-side, the hub's CPU per unit on every
 * side, and a verdict on the metrics that carry a hub-side target. A ratio is
 * only a ratio: whether above 1 is good depends on the metric, so the table
 * says which way is better.
 */
import type { MetricSpec, Scenario, TargetKind } from "./types.js";

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
  /** The hub-side caller (scenarios with a hub-side baseline; else null). */
  hub: number | null;
  /** Min and max over the rounds counted (null when none). */
  peerRange: [number, number] | null;
  gatewayRange: [number, number] | null;
  hubRange: [number, number] | null;
  /** gateway / peer, null when either side has no successful run. */
  ratio: number | null;
  /** gateway / hub-side caller, null when either side has no successful run. */
  hubRatio: number | null;
  /** The metric's hub-side target (the most hubRatio may be) and whether the medians meet it (null: no ratio). */
  hubSideTarget?: { max: number; met: boolean | null };
  okRuns: { peer: number; gateway: number; hub: number };
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
    const peerRuns = of("peer"), gatewayRuns = of("gateway"), hubRuns = of("hub");
    const extra: MetricSpec[] = [
      { key: "leafCpuShare", label: "leaf CPU / measured time", unit: "cores", better: "lower" },
      { key: "leafCpuPerUnit", label: `leaf CPU per ${s.unit}`, unit: "µs", better: "lower" },
      { key: "clientCpuPerUnit", label: `client CPU per ${s.unit}`, unit: "µs", better: "lower" },
    ];
    if (s.hubSide) extra.push({ key: "hubCpuPerUnit", label: `hub CPU per ${s.unit}`, unit: "µs", better: "lower" });
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
      const peer = median(counted(peerRuns)), gateway = median(counted(gatewayRuns)), hub = median(counted(hubRuns));
      const hubRatio = ratioOf(gateway, hub);
      const row: SummaryRow = { scenario: s.id, metric: m.key, label: m.label, unit: m.unit, better: m.better,
        peer, gateway, hub, ratio: ratioOf(gateway, peer), hubRatio,
        peerRange: range(counted(peerRuns)), gatewayRange: range(counted(gatewayRuns)), hubRange: range(counted(hubRuns)),
        okRuns: { peer: peerRuns.length, gateway: gatewayRuns.length, hub: hubRuns.length } };
      if (s.hubSide && m.hubSideMax !== undefined) {
        row.hubSideTarget = { max: m.hubSideMax, met: hubRatio === null ? null : hubRatio <= m.hubSideMax };
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

export function renderTable(scenarios: readonly Scenario[], rows: readonly SummaryRow[], failures: readonly RunRecord[]): string {
  // The hub-side columns only when a scenario of this table has that baseline.
  const hubCols = scenarios.some((s) => s.hubSide);
  const header = ["metric", "unit", "peer leaf", "gateway", "gw/peer", ...(hubCols ? ["hub-side", "gw/hub"] : []), "better"];
  const ratioText = (r: number | null) => (r === null ? "—" : `${r.toFixed(2)}×`);
  const body: string[][] = [];
  for (const s of scenarios) {
    const mine = rows.filter((r) => r.scenario === s.id);
    if (mine.length === 0) continue;
    const ok = mine[0]!.okRuns;
    body.push([`[${s.id}] ${s.title} (ok runs: peer ${ok.peer}, gateway ${ok.gateway}${s.hubSide ? `, hub-side ${ok.hub}` : ""})`]);
    for (const r of mine) {
      const hub = !hubCols ? [] : s.hubSide ? [withRange(r.hub, r.hubRange), ratioText(r.hubRatio)] : ["", ""];
      body.push([`  ${r.label}`, r.unit, withRange(r.peer, r.peerRange), withRange(r.gateway, r.gatewayRange), ratioText(r.ratio), ...hub, r.better]);
    }
    if (s.hubSide) {
      body.push(["  hub-side: the same caller on the hub's own client port, no leaf in between; anonymous TLS like the leaf callers"]);
      for (const r of mine) {
        const t = r.hubSideTarget;
        if (t === undefined) continue;
        const verdict = t.met === null ? "no figure" : t.met ? "met" : "missed";
        body.push([`  target: gateway ≤ ${t.max}× hub-side on ${r.label}: ${ratioText(r.hubRatio)}, ${verdict}`]);
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
