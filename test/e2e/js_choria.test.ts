// Choria's own uses of Streams through the gateway, for a Choria-style and a
// plain `_INBOX` client: a leader election the way go-choria campaigns
// (CHORIA_LEADER_ELECTION bucket, create then update with the last revision),
// a concurrency governor the way go-choria's governor works (a GOVERNOR_<name>
// stream with max_msgs slots and discard-new, entered by a request and left by
// deleting the message), the refusals (streams_user creating a stream, a
// deliver subject in someone else's namespace or on lifecycle), the
// $SYS.REQ.USER.INFO answer, and a lifecycle-capturing stream that never
// delivers a lifecycle event to anyone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AckPolicy, DiscardPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { md5Hex } from "../../src/auth/reply_namespace.js";
import { CLIENT_KINDS, startJsWorld, waitFor } from "./js_world.js";

const enc = (s: string) => new TextEncoder().encode(s);

for (const kind of CLIENT_KINDS) {
  test(`Choria flows on Streams, ${kind} client`, async (t) => {
    const w = await startJsWorld(t);
    const hub = await w.hubClient();
    const hjsm = await jetstreamManager(hub);
    const admin = w.caller("up=admin", { streams_admin: true });
    const ajs = jetstream(await w.connect(admin, kind), { timeout: 5000 });

    await t.test("election_user: a leader election as go-choria runs it", async () => {
      await new Kvm(ajs).create("CHORIA_LEADER_ELECTION", { ttl: 2000 });
      const a = w.caller("up=node-a", { election_user: true });
      const b = w.caller("up=node-b", { election_user: true });
      // election_user may only read the bucket's stream info and use its keys: bind, do not look around.
      const kvA = await new Kvm(jetstream(await w.connect(a, kind), { timeout: 5000 })).open("CHORIA_LEADER_ELECTION");
      const kvB = await new Kvm(jetstream(await w.connect(b, kind), { timeout: 5000 })).open("CHORIA_LEADER_ELECTION");
      const seqA = await kvA.create("backups", enc("node-a"));
      assert.ok(seqA > 0, "A won the campaign");
      await assert.rejects(kvB.create("backups", enc("node-b")), "B lost: the key exists");
      const kept = await kvA.update("backups", enc("node-a"), seqA);
      assert.ok(kept > seqA, "the leader keeps leadership by updating with its last revision");
      await assert.rejects(kvB.update("backups", enc("node-b"), seqA), "a stale revision never wins");
      // A stops campaigning: after the bucket TTL the key is gone and B wins.
      const seqB = await waitFor("B wins after the leader's TTL", async () => {
        try {
          return await kvB.create("backups", enc("node-b"));
        } catch {
          return undefined;
        }
      }, 15000);
      assert.ok(seqB > kept);
    });

    await t.test("governor: slots taken by request, refused when full, freed by deleting the entry", async () => {
      await jetstreamManager(await w.connect(admin, kind)).then((m) =>
        m.streams.add({ name: "GOVERNOR_BACKUPS", subjects: ["choria.governor.BACKUPS"], max_msgs: 2, discard: DiscardPolicy.New }));
      const govs = await Promise.all([1, 2, 3].map((i) => w.connect(w.caller(`up=gov-${i}`, { governor: true, streams_user: true }), kind)));
      const enter = async (i: number) => JSON.parse(new TextDecoder().decode((await govs[i]!.request("choria.governor.BACKUPS", enc(`gov-${i}`), { timeout: 5000 })).data));
      const s1 = await enter(0);
      const s2 = await enter(1);
      assert.deepEqual([s1.seq, s2.seq], [1, 2]);
      const full = await enter(2);
      assert.equal(full.error?.err_code, 10077, "no free slot: JetStream says maximum messages exceeded");
      const jsm0 = await jetstreamManager(govs[0]!, { timeout: 5000 });
      assert.equal(await jsm0.streams.deleteMessage("GOVERNOR_BACKUPS", s1.seq), true, "gov-1 leaves its slot");
      const s3 = await enter(2);
      assert.equal(s3.seq, 3, "gov-3 gets the freed slot");
    });

    await t.test("refused: streams_user creating a stream; deliver subjects it could not subscribe to; foreign republish", async () => {
      await hjsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
      const user = w.caller("up=user", { streams_user: true });
      const ujsm = await jetstreamManager(await w.connect(user, kind), { timeout: 5000 });
      await assert.rejects(ujsm.streams.add({ name: "MINE", subjects: ["mine.>"] }), /Permissions Violation for Publish to "\$JS\.API\.STREAM\.CREATE\.MINE"/);
      for (const deliver of [`choria.reply.${md5Hex("up=admin")}.stolen`, `choria.reply.${md5Hex("up=admin")}._INBOX.x`, "choria.lifecycle.event.alive.x", "fleet.elsewhere"]) {
        await assert.rejects(
          ujsm.consumers.add("ORDERS", { name: "STEAL", deliver_subject: deliver, ack_policy: AckPolicy.None }),
          /Permissions Violation for Publish to "\$JS\.API\.CONSUMER\.CREATE\.ORDERS/,
          deliver,
        );
      }
      const names: string[] = [];
      for await (const n of hjsm.consumers.list("ORDERS")) names.push(n.name);
      assert.deepEqual(names, [], "no consumer reached the hub");
      // Nor may streams_admin make a stream republish into someone else's namespace.
      const ajsm = await jetstreamManager(await w.connect(admin, kind), { timeout: 5000 });
      await assert.rejects(
        ajsm.streams.add({ name: "EVIL", subjects: ["evil.>"], republish: { src: ">", dest: `choria.reply.${md5Hex("up=user")}.x` } }),
        /Permissions Violation for Publish to "\$JS\.API\.STREAM\.CREATE\.EVIL"/,
      );
      assert.match(w.g.audit.lines.join("\n"), /CONSUMER\.CREATE\.ORDERS/);
    });

    await t.test("$SYS.REQ.USER.INFO answers with the caller's identity and permissions", async () => {
      const user = w.caller("up=asker", { streams_user: true });
      const nc = await w.connect(user, kind);
      const r = JSON.parse(new TextDecoder().decode((await nc.request("$SYS.REQ.USER.INFO", undefined, { timeout: 5000 })).data));
      assert.equal(r.data.user, "up=asker");
      assert.equal(r.data.account, "choria");
      assert.ok(r.data.permissions.publish.allow.includes("$JS.API.INFO"));
      assert.ok(r.data.permissions.publish.allow.includes("$SYS.REQ.USER.INFO"));
      assert.ok(r.data.permissions.subscribe.allow.includes(`*.reply.${md5Hex("up=asker")}.>`));
      assert.ok(r.data.permissions.subscribe.deny.includes("choria.lifecycle.>"));
      assert.ok(r.data.expires > 3000e9 && r.data.expires <= 3600e9, `expires in ns: ${r.data.expires}`);
      assert.equal(r.server.id, w.g.gw.serverId);
    });

    await t.test("lifecycle: a stream capturing choria.lifecycle.> never delivers an event to a client", async () => {
      await hjsm.streams.add({ name: "EVENTS", subjects: ["choria.lifecycle.>", "audit.>"], allow_direct: true });
      const hjs = jetstream(hub);
      await hjs.publish("choria.lifecycle.event.alive.n1", enc("{\"identity\":\"n1\"}"));
      await hjs.publish("audit.login", enc("ok"));
      await hjsm.consumers.add("EVENTS", { durable_name: "ALL", ack_policy: AckPolicy.Explicit });
      const reader = w.caller("up=reader", { streams_admin: true, streams_user: true });
      const nc = await w.connect(reader, kind);
      const rjs = jetstream(nc, { timeout: 5000 });
      const rjsm = await jetstreamManager(nc, { timeout: 5000 });
      const before = w.g.gw.router.lifecycleWithheld + w.g.gw.counters.lifecycleFiltered;
      // A consumer asking for lifecycle is refused outright.
      await assert.rejects(rjsm.consumers.add("EVENTS", { name: "LIFE", filter_subject: "choria.lifecycle.>", ack_policy: AckPolicy.None }), /Permissions Violation/);
      // An unfiltered consumer gets everything else, never the event.
      // The withheld event still counts against the pull batch, so the fetch may end
      // with nats.js reporting missed heartbeats instead of a second message.
      const c = await rjs.consumers.get("EVENTS", "ALL");
      const got: string[] = [];
      try {
        for await (const m of await c.fetch({ max_messages: 2, expires: 2000 })) {
          got.push(m.subject);
          m.ack();
        }
      } catch (err) {
        assert.match(String(err), /heartbeats missed/);
      }
      assert.deepEqual(got, ["audit.login"]);
      // The gateway terminated the event for that consumer: nothing pending, nothing to redeliver.
      await waitFor("lifecycle event terminated, audit acknowledged", async () => {
        const ci = await hjsm.consumers.info("EVENTS", "ALL");
        return ci.num_ack_pending === 0 && ci.num_pending === 0 && ci.ack_floor.stream_seq === 2 ? true : undefined;
      }, 10000);
      // Gets by sequence or subject: withheld, no answer reaches the client.
      const quick = await jetstreamManager(nc, { timeout: 1500 });
      await assert.rejects(quick.direct.getMessage("EVENTS", { last_by_subj: "choria.lifecycle.event.alive.n1" }), /timeout/i);
      await assert.rejects(quick.streams.getMessage("EVENTS", { seq: 1 }), /timeout/i);
      assert.equal((await rjsm.streams.getMessage("EVENTS", { seq: 2 }))?.subject, "audit.login");
      assert.ok(w.g.gw.router.lifecycleWithheld + w.g.gw.counters.lifecycleFiltered >= before + 3, "each withheld event counted");
    });
  });
}
