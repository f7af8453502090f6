/**
 * Scenario 2, fan-in of 50,000 replies: a caller on the leaf broadcasts one
 * request (`choria.broadcast.agent.bench`); simulated nodes on the hub (two
 * worker processes, each publishing half of the replies) answer with 1 KiB
 * replies to the caller's private reply subject
 * `choria.reply.<md5 of callerid>.<id>` — the subject a Choria client uses,
 * allowed to the gateway caller by its minimal permissions, and just a subject
 * to the peer leaf. Figures: ms from the request to the last reply, replies/s,
 * and replies lost (not arrived after 5 s of silence). The same caller also
 * runs on the hub's own client port (anonymous TLS, no leaf in between), in
 * the same rounds: the gateway's time to the last reply should stay within
 * 1.3× of that caller's.
 */
import { scaled, split, type RunContext, type Scenario } from "./types.js";

const NODE_PROCESSES = 2;

export const fanIn: Scenario = {
  id: "fanin",
  title: "Fan-in of 50,000 × 1 KiB replies, hub → one leaf caller",
  unit: "reply",
  metrics: [
    { key: "lastReplyMs", label: "request → last reply", unit: "ms", better: "lower", baselineTarget: 1.3 },
    { key: "repliesPerSec", label: "replies/s", unit: "msg/s", better: "higher" },
    { key: "firstReplyMs", label: "request → first reply", unit: "ms", better: "lower" },
    { key: "lost", label: "lost", unit: "msgs", better: "lower" },
  ],
  timeoutMs: 240_000,
  baseline: "hub",
  async run(ctx: RunContext) {
    const total = scaled(50_000, ctx.scale);
    const callerid = "up=bench-fanin";
    const requestSubject = "choria.broadcast.agent.bench";
    const shares = split(total, NODE_PROCESSES);
    const readySubjects = shares.map((_, i) => `bench.ready.${ctx.runId}.node${i}`);
    await Promise.all(shares.map((replies, i) => ctx.pool.spawn(`hub nodes ${i}`).call("replyBurst", {
      client: ctx.hubClient(`fanin-nodes-${i}`), subject: requestSubject, replies, size: 1024, readySubject: readySubjects[i]!,
    }, 30_000)));
    const caller = ctx.pool.spawn(`${ctx.target.kind} caller`);
    ctx.measureStart();
    const r = await caller.call("fanIn", {
      client: ctx.target.client(callerid),
      requestSubject,
      replySubject: `${ctx.target.replyPrefix(callerid)}.${ctx.runId.replace(/[^A-Za-z0-9]/g, "")}`,
      expect: total,
      readySubjects,
      idleMs: 5_000,
      deadlineMs: 180_000,
    }, 200_000);
    ctx.measureEnd();
    return {
      lastReplyMs: r.lastMs,
      repliesPerSec: r.received / (Math.max(r.lastMs, 1) / 1000),
      firstReplyMs: r.firstMs,
      lost: total - r.received,
      units: r.received,
    };
  },
};
