// Choria Streams through the gateway against a real JetStream hub, with the
// official JetStream, KV and Object Store clients, each flow run by a
// Choria-style client (inbox prefix = private reply namespace) and by a plain
// `_INBOX` client: streams_admin creates streams, consumers, buckets and object
// stores; streams_user uses KV, Object Store, publish acks, pull consumers
// (ack, nak, term, working, ackAck), push and ordered consumers with flow
// control and heartbeats, and direct get.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { CLIENT_KINDS, choriaInboxPrefix, startJsWorld, waitFor, type Caller, type ClientKind } from "./js_world.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function jsFor(nc: NatsConnection, who: Caller, kind: ClientKind): JetStreamClient {
  // A Choria client's watchers (ordered consumers, KV watch) use its own namespace too.
  return jetstream(nc, { timeout: 5000, ...(kind === "choria-inbox" ? { watcherPrefix: choriaInboxPrefix(who.callerId) } : {}) });
}

for (const kind of CLIENT_KINDS) {
  test(`Streams through the gateway, ${kind} client`, async (t) => {
    const w = await startJsWorld(t);
    const admin = w.caller("up=streams-admin", { streams_admin: true });
    // The stream captures subjects the token lets this user publish (pub_subjects claim).
    const user = w.caller("up=streams-user", { streams_user: true }, { pubSubjects: ["orders.>"] });
    const anc = await w.connect(admin, kind);
    const unc = await w.connect(user, kind);
    const ajsm = await jetstreamManager(anc, { timeout: 5000 });
    const ajs = jsFor(anc, admin, kind);
    const ujsm = await jetstreamManager(unc, { timeout: 5000 });
    const ujs = jsFor(unc, user, kind);

    await t.test("streams_admin creates a stream, consumers, a KV bucket and an object store", async () => {
      await ajsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], allow_direct: true });
      await ajsm.consumers.add("ORDERS", { durable_name: "PULL", ack_policy: AckPolicy.Explicit, ack_wait: 30_000_000_000, max_deliver: 5, max_ack_pending: 1 });
      await new Kvm(ajs).create("CFG", { history: 5 });
      await new Objm(ajs).create("FILES");
      const names: string[] = [];
      for await (const n of ajsm.streams.names()) names.push(n);
      assert.deepEqual(names.sort(), ["KV_CFG", "OBJ_FILES", "ORDERS"]);
      assert.equal((await ajsm.consumers.info("ORDERS", "PULL")).config.durable_name, "PULL");
    });

    await t.test("streams_user: stream publish with acks", async () => {
      for (let i = 1; i <= 6; i++) {
        const ack = await ujs.publish(`orders.n${i}`, enc(`order ${i}`));
        assert.equal(ack.stream, "ORDERS");
        assert.equal(ack.seq, i);
      }
    });

    await t.test("streams_user: pull consumer with ack, nak, term, working and ackAck", async () => {
      const c = await ujs.consumers.get("ORDERS", "PULL");
      const m1 = (await c.next({ expires: 5000 }))!;
      assert.equal(m1.subject, "orders.n1", "the stream subject, not the pull inbox");
      m1.working();
      assert.equal(await m1.ackAck(), true, "ackAck answered through the gateway");
      const m2 = (await c.next({ expires: 5000 }))!;
      assert.equal(m2.subject, "orders.n2");
      m2.nak();
      const again = (await c.next({ expires: 5000 }))!;
      assert.equal(again.subject, "orders.n2", "nak redelivers");
      assert.equal(again.info.deliveryCount, 2);
      again.term();
      const m3 = (await c.next({ expires: 5000 }))!;
      assert.equal(m3.subject, "orders.n3", "term does not redeliver");
      m3.ack();
      const batch = await c.fetch({ max_messages: 3, expires: 5000 });
      const got: string[] = [];
      for await (const m of batch) {
        got.push(m.subject);
        assert.equal(await m.ackAck(), true);
      }
      assert.deepEqual(got, ["orders.n4", "orders.n5", "orders.n6"]);
      await waitFor("every message acknowledged on the hub", async () => {
        const ci = await ujsm.consumers.info("ORDERS", "PULL");
        return ci.num_ack_pending === 0 && ci.num_pending === 0 && ci.ack_floor.stream_seq === 6 ? true : undefined;
      }, 10000);
    });

    await t.test("streams_user: push consumer with flow control and heartbeats", async () => {
      const deliver = kind === "choria-inbox" ? `${choriaInboxPrefix(user.callerId)}.push1` : "_INBOX.push1";
      const ci = await ujsm.consumers.add("ORDERS", {
        name: "PUSH", deliver_subject: deliver, ack_policy: AckPolicy.Explicit, flow_control: true, idle_heartbeat: 1_000_000_000,
      });
      assert.equal(ci.config.deliver_subject, deliver, "the client reads back the subject it asked for");
      const onHub = await (await jetstreamManager(await w.hubClient())).consumers.info("ORDERS", "PUSH");
      const expected = kind === "plain-inbox" ? `${choriaInboxPrefix(user.callerId)}._INBOX.push1` : deliver;
      assert.equal(onHub.config.deliver_subject, expected, "the hub pushes into the caller's namespace");
      // Enough bytes for the hub to ask for flow control several times.
      const big = new Uint8Array(64 * 1024).fill(65);
      for (let i = 0; i < 40; i++) await ujs.publish("orders.bulk", big);
      const pc = await ujs.consumers.getPushConsumer("ORDERS", "PUSH");
      const msgs = await pc.consume();
      const seen = { fc: 0, hb: 0 };
      void (async () => {
        for await (const s of msgs.status()) {
          if (s.type === "flow_control") seen.fc++;
          if (s.type === "heartbeat") seen.hb++;
        }
      })();
      let n = 0;
      void (async () => {
        for await (const m of msgs) {
          m.ack();
          n++;
        }
      })();
      await waitFor("all six orders and forty bulk messages", () => (n >= 46 ? true : undefined), 15000);
      assert.ok(seen.fc > 0, "flow control requests were answered (otherwise delivery stalls)");
      await waitFor("an idle heartbeat", () => (seen.hb > 0 ? true : undefined), 10000);
      assert.equal(n, 46);
      await msgs.close();
    });

    await t.test("streams_user: ordered consumer (push, flow control) reads the whole stream", async () => {
      const oc = await ujs.consumers.getPushConsumer("ORDERS", { deliver_policy: DeliverPolicy.All, filter_subjects: "orders.>" });
      const msgs = await oc.consume();
      const subjects: string[] = [];
      let fc = 0;
      void (async () => {
        for await (const s of msgs.status()) if (s.type === "flow_control") fc++;
      })();
      void (async () => {
        for await (const m of msgs) subjects.push(m.subject);
      })();
      await waitFor("the whole stream in order", () => (subjects.length >= 46 ? true : undefined), 15000);
      assert.deepEqual(subjects.slice(0, 6), ["orders.n1", "orders.n2", "orders.n3", "orders.n4", "orders.n5", "orders.n6"]);
      assert.equal(subjects.length, 46);
      assert.ok(fc > 0, "flow control answered for the ordered consumer too");
      await msgs.close();
    });

    await t.test("streams_user: direct get", async () => {
      const m = await ujsm.direct.getMessage("ORDERS", { last_by_subj: "orders.n3" });
      assert.equal(dec(m!.data), "order 3");
      assert.equal(m!.subject, "orders.n3");
    });

    await t.test("streams_user: KV put, get, update with revision, delete, purge, history, keys, watch", async () => {
      const kv = await new Kvm(ujs).open("CFG");
      const watched: string[] = [];
      const watch = await kv.watch({ key: "app.>" });
      void (async () => {
        for await (const e of watch) watched.push(`${e.operation} ${e.key}${e.operation === "PUT" ? `=${e.string()}` : ""}`);
      })();
      const r1 = await kv.put("app.a", "1");
      assert.equal((await kv.get("app.a"))!.string(), "1");
      const r2 = await kv.update("app.a", "2", r1);
      assert.ok(r2 > r1);
      await assert.rejects(kv.update("app.a", "stale", r1), /wrong last sequence/);
      await kv.create("app.b", "x");
      await assert.rejects(kv.create("app.b", "y"));
      const keys: string[] = [];
      for await (const k of await kv.keys()) keys.push(k);
      assert.deepEqual(keys.sort(), ["app.a", "app.b"]);
      const hist: string[] = [];
      for await (const e of await kv.history({ key: "app.a" })) hist.push(e.string());
      assert.deepEqual(hist, ["1", "2"]);
      await kv.delete("app.b");
      assert.equal((await kv.get("app.b"))?.operation, "DEL");
      await kv.purge("app.a");
      assert.equal((await kv.get("app.a"))?.operation, "PURGE");
      await waitFor("watch saw every change", () => (watched.length >= 5 ? true : undefined), 10000);
      assert.deepEqual(watched.slice(0, 5), ["PUT app.a=1", "PUT app.a=2", "PUT app.b=x", "DEL app.b", "PURGE app.a"]);
      watch.stop();
    });

    await t.test("streams_user: Object Store put and get of a multi-chunk object", async () => {
      const os = await new Objm(ujs).open("FILES");
      const data = new Uint8Array(300 * 1024);
      for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
      const info = await os.putBlob({ name: "blob.bin", options: { max_chunk_size: 16 * 1024 } }, data);
      assert.ok(info.chunks >= 19, `chunks: ${info.chunks}`);
      const back = await os.getBlob("blob.bin");
      assert.deepEqual(back, data);
    });
  });
}
