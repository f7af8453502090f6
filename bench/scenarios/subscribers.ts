/**
 * Scenario 5, many subscribers: 1,000 clients on the leaf (two worker
 * processes), each subscribed to its own subject and to one shared subject; a
 * publisher on the hub sends 500 messages of 128 bytes to the shared subject,
 * so the leaf must deliver 500,000 messages to 1,000 connections. Figure:
 * delivered messages/s from the first publish to the last delivery. The
 * publisher starts once every worker's last client answers a readiness request
 * from the hub, i.e. once the leaf's interest has crossed to the hub.
 */
import { scaled, split, type RunContext, type Scenario } from "./types.js";

const CLIENT_PROCESSES = 2;

export const subscribers: Scenario = {
  id: "subscribers",
  title: "Many subscribers: 1,000 leaf clients, hub publishes to a shared subject",
  unit: "delivery",
  metrics: [
    { key: "deliveredPerSec", label: "delivered msgs/s", unit: "msg/s", better: "higher" },
    { key: "lost", label: "lost deliveries", unit: "msgs", better: "lower" },
  ],
  timeoutMs: 300_000,
  async run(ctx: RunContext) {
    const clients = scaled(1_000, ctx.scale, 10);
    const messages = scaled(500, ctx.scale, 10);
    const shared = `bench.shared.${ctx.runId}`;
    let index = 0;
    const groups = split(clients, CLIENT_PROCESSES).map((n) => Array.from({ length: n }, () => index++));
    const readySubjects = groups.map((_, w) => `bench.ready.${ctx.runId}.subs${w}`);
    const workers = groups.map((_, w) => ctx.pool.spawn(`leaf subscribers ${w}`));
    await Promise.all(workers.map((w, i) => w.call("subscribe", {
      clients: groups[i]!.map((c) => ({ ...ctx.target.client(`up=bench-sub-${c}`), name: `sub-${c}` })),
      ownSubjects: groups[i]!.map((c) => `bench.sub.${ctx.runId}.${c}`),
      sharedSubject: shared,
      readySubject: readySubjects[i]!,
      concurrency: 25,
    }, 180_000)));
    const publisher = ctx.pool.spawn("hub publisher");
    ctx.measureStart();
    const pub = await publisher.call("publish", {
      client: ctx.hubClient("subs-publisher"), subject: shared, count: messages, size: 128, readySubjects,
    }, 60_000);
    const got = await Promise.all(workers.map((w, i) => w.call("countResult", {
      expect: groups[i]!.length * messages, idleMs: 5_000, deadlineMs: 180_000,
    }, 200_000)));
    ctx.measureEnd();
    const delivered = got.reduce((n, r) => n + r.count, 0);
    const lastAt = Math.max(...got.map((r) => r.lastAt));
    return {
      deliveredPerSec: delivered / (Math.max(lastAt - pub.startAt, 1) / 1000),
      lost: clients * messages - delivered,
      units: delivered,
    };
  },
};
