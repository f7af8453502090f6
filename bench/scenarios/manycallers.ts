/**
 * Scenario 6, many callers: 200 Choria-style callers on the leaf (two client
 * processes, 100 each, every one with its own caller id, token and reply
 * namespace) broadcast at the same time to a simulated fleet on the hub
 * (`choria.broadcast.agent.bench-mc`; two node processes, 50 simulated nodes
 * each, so every broadcast gets 100 replies of 512 B), and each collects its
 * replies before broadcasting again, 5 times. Figures: replies/s over the whole
 * phase, the p50 and p99 time for one broadcast to collect all its replies,
 * and replies lost. This is the shape of a busy Choria site: many operators
 * and automations at once, each a fan-out and a fan-in. The callers connect
 * and subscribe before the measured phase, so its time and CPU are the
 * broadcasts' alone (connecting is what the storm measures).
 */
import { replyPrefixOf } from "./targets.js";
import { scaled, split, type RunContext, type Scenario } from "./types.js";

const CALLER_PROCESSES = 2;
const NODE_PROCESSES = 2;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const manyCallers: Scenario = {
  id: "manycallers",
  title: "Many callers: 200 callers × 5 broadcasts to a 100-node fleet (512 B replies)",
  unit: "reply",
  metrics: [
    { key: "repliesPerSec", label: "replies/s", unit: "msg/s", better: "higher" },
    { key: "p50BroadcastMs", label: "p50 broadcast → all replies", unit: "ms", better: "lower" },
    { key: "p99BroadcastMs", label: "p99 broadcast → all replies", unit: "ms", better: "lower" },
    { key: "lost", label: "lost replies", unit: "msgs", better: "lower" },
  ],
  timeoutMs: 300_000,
  async run(ctx: RunContext) {
    const callers = scaled(200, ctx.scale, 2);
    const nodes = scaled(100, ctx.scale, 2);
    const broadcasts = 5;
    const requestSubject = "choria.broadcast.agent.bench-mc";
    const nodeShares = split(nodes, NODE_PROCESSES);
    const readySubjects = nodeShares.map((_, i) => `bench.ready.${ctx.runId}.mcnodes${i}`);
    await Promise.all(nodeShares.map((replies, i) => ctx.pool.spawn(`hub fleet ${i}`).call("replyBurst", {
      client: ctx.hubClient(`mc-fleet-${i}`), subject: requestSubject, replies, size: 512, readySubject: readySubjects[i]!,
    }, 30_000)));
    let index = 0;
    const groups = split(callers, CALLER_PROCESSES).map((n) => Array.from({ length: n }, () => `up=bench-mc-${ctx.runId}-${index++}`));
    const workers = groups.map((_, i) => ctx.pool.spawn(`leaf callers ${i}`));
    // Connecting is the storm's work: the measured phase is the broadcasts alone.
    const joined = await Promise.all(workers.map((w, i) => w.call("callersConnect", {
      clients: groups[i]!.map((id) => ctx.target.client(id)),
      replyPrefixes: groups[i]!.map(replyPrefixOf),
      readySubjects,
      timeoutMs: 60_000,
    }, 120_000)));
    const connected = joined.reduce((n, r) => n + r.connected, 0);
    if (connected < callers) ctx.note(`${callers - connected} callers failed to connect: ${joined.map((r) => r.firstError).filter(Boolean).join("; ")}`);
    ctx.measureStart();
    const results = await Promise.all(workers.map((w) => w.call("manyCallers", {
      requestSubject,
      broadcasts,
      expectPerBroadcast: nodes,
      timeoutMs: 60_000,
    }, 280_000)));
    ctx.measureEnd();
    const received = results.reduce((n, r) => n + r.received, 0);
    const timedOut = results.reduce((n, r) => n + r.timedOut, 0);
    if (timedOut > 0) ctx.note(`${timedOut} broadcasts did not collect every reply in time`);
    const startAt = Math.min(...results.map((r) => r.startAt));
    const endAt = Math.max(...results.map((r) => r.endAt));
    const times = results.flatMap((r) => r.broadcastMs).sort((a, b) => a - b);
    return {
      repliesPerSec: received / (Math.max(endAt - startAt, 1) / 1000),
      p50BroadcastMs: percentile(times, 50),
      p99BroadcastMs: percentile(times, 99),
      lost: callers * broadcasts * nodes - received,
      units: received,
    };
  },
};
