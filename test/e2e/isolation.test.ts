/**
 * Caller isolation against a real nats-server hub, through the whole gateway:
 * wildcard churn over a match cache full of 4 KB subjects does not stall
 * anybody else, and the Choria and JetStream flows that send reply subjects
 * (Choria requests, JetStream API requests and publish acks, acks sent as
 * requests, KV create/put/get, against a hub that extends its JetStream to the
 * leaf) keep working under reply confinement. Deliveries a hub's JetStream
 * consumer makes (pull next, KV watch) depend on the JetStream delivery
 * handling and are tested with it.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createInbox } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { md5Hex } from "../../src/auth/reply_namespace.js";
import { startWorld, waitFor } from "./gw_upstream_world.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

describe("isolation through the gateway (real hub)", () => {
  test("2,000 wildcard SUB/UNSUB pairs over a cache of 4 KB subjects; another caller's PING is unaffected", async (t) => {
    const w = await startWorld(t);
    const attacker = await w.client(w.token({ callerid: "up=mallory", permissions: { org_admin: true } }));
    const bystander = await w.client(w.token({ callerid: "up=alice", permissions: { fleet_management: true } }));
    const long = "x".repeat(3900);
    const prefix = `_INBOX.${long}`;
    // Requests with long inbox replies to subjects nobody listens on: the
    // no-responders lookup caches each mapped 4 KB reply subject.
    const inbox = attacker.subscribe(`${prefix}.*`);
    for (let i = 0; i < 1024; i++) attacker.publish(`nothing.${i}`, enc.encode("?"), { reply: `${prefix}.${i}` });
    await attacker.flush();
    inbox.unsubscribe();
    await attacker.flush();
    for (let i = 0; i < 1024; i++) attacker.publish(`nothing.${i}`, enc.encode("?"), { reply: `${prefix}.${i}` });
    await attacker.flush();

    const rttBefore = await bystander.rtt();
    const started = process.hrtime.bigint();
    let worstRtt = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 100; i++) {
        attacker.subscribe(`${prefix}.*`).unsubscribe();
        // keep the cache full between changes
        attacker.publish(`nothing.${i}`, enc.encode("?"), { reply: `${prefix}.${round}.${i}` });
      }
      worstRtt = Math.max(worstRtt, await bystander.rtt());
    }
    await attacker.flush();
    const churnMs = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`[figures] 2000 wildcard SUB/UNSUB pairs over a full cache: ${churnMs.toFixed(0)} ms; bystander PING rtt before ${rttBefore} ms, worst during ${worstRtt} ms`);
    assert.equal(attacker.isClosed(), false);
    assert.equal(bystander.isClosed(), false);
    assert.ok(w.g.gw.upstream?.connected, "the upstream link stayed up");
    assert.equal(w.g.gw.router.subscriptionCount, 0, "every wildcard subscription was removed again");
    // the bystander still gets answers through the hub
    const hub = await w.hubClient();
    hub.subscribe("choria.broadcast.agent.echo", { callback: (_e, m) => void m.respond(m.data) });
    await hub.flush();
    await waitFor("hub interest reached the gateway", async () => {
      try {
        return dec.decode((await bystander.request("choria.broadcast.agent.echo", enc.encode("hi"), { timeout: 500 })).data) === "hi" || undefined;
      } catch {
        return undefined;
      }
    }, 15000);
  });

  test("Choria and JetStream flows that use replies keep working under reply confinement", async (t) => {
    // The hub extends its JetStream to the leaf (an empty default domain for the account), and the
    // remote says so, so `$JS.API.>`, `$KV.>` and `$OBJ.>` may cross the link.
    const store = `/tmp/aaa-js-${process.pid}-${Date.now()}`;
    const w = await startWorld(t, {
      hub: { extraConfig: `jetstream: { store_dir: "${store}" }\ndefault_js_domain: { "$G": "" }\n` },
      lines: ["plugin.choria.network.leafnode_remote.hub.jetstream_extended = true"],
    });
    const nc = await w.client(w.token({ callerid: "up=alice", permissions: { org_admin: true } }));
    // The client enables its consumer API by the server version in INFO; the gateway's own version
    // is not a nats-server version, so tell the client the hub's (the INFO version is not this test's subject).
    (nc as unknown as { features: { update(v: string): void } }).features.update("2.9.10");
    const hub = await w.hubClient();

    // Choria: the request with the caller's own reply subject, answered by a hub-side server.
    const ns = `choria.reply.${md5Hex("up=alice")}`;
    hub.subscribe("choria.broadcast.agent.rpcutil", { callback: (_e, m) => void m.respond(enc.encode("pong")) });
    await hub.flush();
    const reply = `${ns}.${createInbox().slice("_INBOX.".length)}`;
    const got = nc.subscribe(reply, { max: 1 });
    await waitFor("hub interest", async () => {
      nc.publish("choria.broadcast.agent.rpcutil", enc.encode("ping"), { reply });
      await nc.flush();
      return got.getReceived() === 1 || undefined;
    }, 15000);

    // JetStream: stream create, publish (acked on an inbox), pull fetch, ackAck (the ack itself is a request).
    const jsm = await jetstreamManager(nc, { timeout: 10000 });
    await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
    const js = jetstream(nc, { timeout: 10000 });
    const ack = await js.publish("orders.new", enc.encode("o1"));
    assert.equal(ack.stream, "ORDERS");
    await js.publish("orders.new", enc.encode("o2"));
    // An ack with AckSync is a request on `$JS.ACK.…` with an inbox reply: the same shape as the publish above.
    // (Only on a message this connection was given: auth/js_answers.ts.)
    await jsm.consumers.add("ORDERS", { durable_name: "work", ack_policy: AckPolicy.Explicit });
    assert.equal((await jsm.consumers.info("ORDERS", "work")).num_pending, 2);
    const m = await (await js.consumers.get("ORDERS", "work")).next({ expires: 5000 });
    assert.ok(m, "a work item fetched");
    assert.equal(await m.ackAck({ timeout: 5000 }), true, "the acknowledgement was itself acknowledged");
    assert.equal((await jsm.consumers.info("ORDERS", "work")).num_ack_pending, 0);

    // KV: create, put, get (requests with inbox replies).
    const kv = await new Kvm(nc).create("settings");
    await kv.put("colour", enc.encode("blue"));
    assert.equal((await kv.get("colour"))?.string(), "blue");
    assert.equal(nc.isClosed(), false);
    const violations = w.g.audit.lines.filter((l) => l.includes('"violation"'));
    assert.deepEqual(violations, [], "no flow hit a permission violation");
  });
});
