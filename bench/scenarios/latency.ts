/**
 * Scenario 3, request latency: 5,000 sequential 64-byte requests from a caller
 * on the leaf to an echo responder on the hub (after 100 warm-up requests), so
 * each figure is one full round trip client → leaf → hub → responder and back.
 * Percentiles by nearest rank over the successful requests.
 */
import { scaled, type RunContext, type Scenario } from "./types.js";

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const latency: Scenario = {
  id: "latency",
  title: "Request latency, leaf caller → hub responder (64 B, sequential)",
  unit: "request",
  metrics: [
    { key: "p50", label: "p50", unit: "ms", better: "lower" },
    { key: "p90", label: "p90", unit: "ms", better: "lower" },
    { key: "p99", label: "p99", unit: "ms", better: "lower" },
    { key: "max", label: "max", unit: "ms", better: "lower" },
    { key: "errors", label: "failed requests", unit: "reqs", better: "lower" },
  ],
  timeoutMs: 240_000,
  async run(ctx: RunContext) {
    const count = scaled(5_000, ctx.scale, 100);
    const subject = `bench.echo.${ctx.runId}`;
    await ctx.pool.spawn("hub responder").call("echo", { client: ctx.hubClient("latency-echo"), subject }, 30_000);
    const caller = ctx.pool.spawn("leaf caller");
    ctx.measureStart();
    const r = await caller.call("latency", {
      client: ctx.target.client("up=bench-latency"), subject, count, size: 64, timeoutMs: 5_000,
    }, 220_000);
    ctx.measureEnd();
    const sorted = Float64Array.from(r.latenciesMs).sort();
    const s = Array.from(sorted);
    return { p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: percentile(s, 100), errors: r.errors, units: r.latenciesMs.length };
  },
};
