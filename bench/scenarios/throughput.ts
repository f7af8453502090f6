/**
 * Scenario 1, publish throughput: one client on the leaf publishes 128-byte
 * messages as fast as the NATS JS client allows (200,000 at scale 1, one flush
 * at the end); one subscriber on the hub counts them. The figure is end to end:
 * messages counted on the hub per second from the first publish to the last
 * arrival. The publisher starts only once the hub subscriber's interest has
 * crossed the leaf link (a readiness request answered from the hub), so a
 * lost message is a real loss, not a race with interest propagation.
 */
import { scaled, type RunContext, type Scenario } from "./types.js";

export const throughput: Scenario = {
  id: "throughput",
  title: "Publish throughput, leaf → hub (128 B)",
  unit: "msg",
  metrics: [
    { key: "msgsPerSec", label: "end-to-end msgs/s", unit: "msg/s", better: "higher" },
    { key: "publishMsgsPerSec", label: "publisher msgs/s (until flush)", unit: "msg/s", better: "higher" },
    { key: "lost", label: "lost", unit: "msgs", better: "lower" },
  ],
  timeoutMs: 240_000,
  async run(ctx: RunContext) {
    const count = scaled(200_000, ctx.scale);
    const subject = `bench.tput.${ctx.runId}`;
    const ready = `bench.ready.${ctx.runId}.tput`;
    const counter = ctx.pool.spawn("hub counter");
    const publisher = ctx.pool.spawn("leaf publisher");
    await counter.call("count", { client: ctx.hubClient("tput-counter"), subject, readySubject: ready }, 30_000);
    ctx.measureStart();
    const pub = await publisher.call("publish", {
      client: ctx.target.client("up=bench-publisher"), subject, count, size: 128, readySubjects: [ready],
    }, 180_000);
    const got = await counter.call("countResult", { expect: count, idleMs: 5_000, deadlineMs: 120_000 }, 130_000);
    ctx.measureEnd();
    const seconds = Math.max(got.lastAt - pub.startAt, 1) / 1000;
    return {
      msgsPerSec: got.count / seconds,
      publishMsgsPerSec: count / (Math.max(pub.endAt - pub.startAt, 1) / 1000),
      lost: count - got.count,
      units: got.count,
    };
  },
};
