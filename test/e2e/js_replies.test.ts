// Replies the hub hands out: an ack goes back through the link its message
// came from (the tracker routes it, answered by the hub: no false
// no-responders), and an ack that cannot reach the hub because the link is
// down is counted as a dropped upstream message, logged once, and answered
// with no-responders instead of vanishing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { startJsWorld, waitFor } from "./js_world.js";

test("acks are routed back by the reply tracker; with the link down they are counted, logged and answered no-responders", async (t) => {
  const w = await startJsWorld(t);
  const hjsm = await jetstreamManager(await w.hubClient());
  await hjsm.streams.add({ name: "WORK", subjects: ["work.>"] });
  await hjsm.consumers.add("WORK", { durable_name: "W", ack_policy: AckPolicy.Explicit });
  const hjs = jetstream(await w.hubClient());
  for (let i = 0; i < 3; i++) await hjs.publish(`work.${i}`, "job");
  const user = w.caller("up=worker", { streams_user: true });
  const nc = await w.connect(user, "plain-inbox", { noEcho: true });
  const c = await jetstream(nc, { timeout: 5000 }).consumers.get("WORK", "W");
  const tracker = w.g.gw.router.hubReplies;
  const routedBefore = tracker.stats.routed;
  const m1 = (await c.next({ expires: 5000 }))!;
  assert.equal(await m1.ackAck(), true);
  assert.ok(tracker.stats.routed > routedBefore, "the ack went back through the tracked link");
  const m2 = (await c.next({ expires: 5000 }))!;
  const stats = w.g.gw.upstream!.stats;
  const dropped = stats.droppedMsgs;
  await w.hub.stop();
  await waitFor("link down", () => (w.g.gw.ready ? undefined : true), 10000);
  await assert.rejects(m2.ackAck(), /no responders|503/i, "the ack cannot reach the hub: no-responders, not silence");
  assert.equal(stats.droppedMsgs, dropped + 1, "counted as a dropped upstream message");
  assert.match(w.g.logs.lines.join("\n"), /dropping replies to the hub until it is back/);
});
