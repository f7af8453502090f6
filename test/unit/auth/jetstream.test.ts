// Consumer-create decisions: _INBOX deliver subjects rewritten into the
// caller's namespace, foreign/lifecycle/ungranted deliver subjects refused,
// Go's case-insensitive key matching cannot smuggle a field past the check,
// lifecycle filters refused; and lifecycle events carried inside hub answers.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  checkConsumerCreate, checkStreamConfigure, carriesLifecycleEvent, consumerCreatePermissionSubject, isConsumerCreate, isStreamConfigure,
} from "../../../src/auth/jetstream.js";
import { permissionsFromGrants } from "../../../src/auth/permissions.js";
import { createReplyNamespace, md5Hex } from "../../../src/auth/reply_namespace.js";

const me = "up=alice";
const other = md5Hex("up=mallory");
const perms = permissionsFromGrants(me, {
  publish: { allow: ["$JS.API.>"], deny: [] },
  subscribe: { allow: [`*.reply.${md5Hex(me)}.>`, "choria.republish.>"], deny: [] },
  policies: ["test"],
});
const ns = createReplyNamespace("choria", me);
const body = (o: unknown): Uint8Array => Buffer.from(JSON.stringify(o));
const check = (o: unknown, hdr = -1, payload?: Uint8Array) => checkConsumerCreate(hdr, payload ?? body(o), perms, ns);

describe("consumer create", () => {
  test("subjects that carry a consumer config", () => {
    assert.ok(isConsumerCreate("$JS.API.CONSUMER.CREATE.ORDERS"));
    assert.ok(isConsumerCreate("$JS.API.CONSUMER.CREATE.ORDERS.c.orders.>"));
    assert.ok(isConsumerCreate("$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.c"));
    assert.ok(!isConsumerCreate("$JS.API.CONSUMER.INFO.ORDERS.c"));
  });

  test("wildcards only in the filter part of a consumer-create subject, checked as placeholder tokens", () => {
    const p = consumerCreatePermissionSubject;
    assert.equal(p("$JS.API.CONSUMER.CREATE.S.c.orders.*"), "$JS.API.CONSUMER.CREATE.S.c.orders._filter_wildcard_");
    assert.equal(p("$JS.API.CONSUMER.CREATE.S.c.$KV.B.>"), "$JS.API.CONSUMER.CREATE.S.c.$KV.B._filter_wildcard_._filter_wildcard_");
    assert.equal(p("$JS.API.CONSUMER.CREATE.S.c.>"), "$JS.API.CONSUMER.CREATE.S.c._filter_wildcard_._filter_wildcard_");
    for (const same of ["$JS.API.CONSUMER.CREATE.*.c.x", "$JS.API.CONSUMER.CREATE.S.*.x", "$JS.API.CONSUMER.CREATE.S.c.>.x", "$JS.API.CONSUMER.CREATE.S", "$JS.API.STREAM.INFO.*", "$JS.API.CONSUMER.CREATE.S.c.orders.x"]) {
      assert.equal(p(same), same);
    }
    const narrow = permissionsFromGrants(me, { publish: { allow: ["$JS.API.CONSUMER.CREATE.S.c.orders.*"], deny: [] }, subscribe: { allow: [], deny: [] }, policies: [] });
    assert.ok(narrow.canPublish(p("$JS.API.CONSUMER.CREATE.S.c.orders.*")));
    assert.ok(!narrow.canPublish(p("$JS.API.CONSUMER.CREATE.S.c.orders.>")), "> covers more than the grant");
    assert.ok(!narrow.canPublish(p("$JS.API.CONSUMER.CREATE.S.c.>")));
  });

  test("pull consumers and own-namespace deliver subjects pass unchanged", () => {
    assert.equal(check({ stream_name: "S", config: { ack_policy: "explicit" } }).action, "pass");
    assert.equal(check({ stream_name: "S", config: { deliver_subject: `choria.reply.${md5Hex(me)}.d1` } }).action, "pass");
    assert.equal(check({ stream_name: "S", config: { deliver_subject: "choria.republish.x" } }).action, "pass");
  });

  test("an _INBOX deliver subject is rewritten into the caller's namespace, other bytes kept", () => {
    const raw = '{"stream_name":"S","config":{"deliver_subject":"_INBOX.abc","opt_start_seq":18446744073709551615}}';
    const v = checkConsumerCreate(-1, Buffer.from(raw), perms, ns);
    assert.equal(v.action, "rewrite");
    if (v.action !== "rewrite") return;
    assert.equal(v.deliverSubject, `choria.reply.${md5Hex(me)}._INBOX.abc`);
    assert.equal(Buffer.from(v.payload).toString(), raw.replace("_INBOX.abc", `choria.reply.${md5Hex(me)}._INBOX.abc`));
  });

  test("headers are kept in front of a rewritten body", () => {
    const hdr = Buffer.from("NATS/1.0\r\nX: y\r\n\r\n");
    const b = body({ config: { deliver_subject: "_INBOX.h" } });
    const v = checkConsumerCreate(hdr.length, Buffer.concat([hdr, b]), perms, ns);
    assert.equal(v.action, "rewrite");
    if (v.action !== "rewrite") return;
    assert.equal(Buffer.from(v.payload.subarray(0, hdr.length)).toString(), hdr.toString());
    assert.equal(JSON.parse(Buffer.from(v.payload.subarray(hdr.length)).toString()).config.deliver_subject, `choria.reply.${md5Hex(me)}._INBOX.h`);
  });

  test("refused: another caller's namespace, lifecycle, ungranted, wildcards, foreign group-less tricks", () => {
    for (const ds of [
      `choria.reply.${other}.x`,
      `choria.reply.${other}._INBOX.x`,
      "choria.lifecycle.event.alive.x",
      "fleet.anything",
      `choria.reply.${md5Hex(me)}.*`,
      `choria.reply.${md5Hex(me)}.>`,
      "_INBOX",
      "",
    ]) {
      const v = check({ stream_name: "S", config: { deliver_subject: ds } });
      assert.equal(v.action, ds === "" ? "pass" : "refuse", ds);
    }
  });

  test("Go's case-insensitive keys cannot smuggle a deliver subject", () => {
    const evil = `choria.reply.${other}.x`;
    for (const key of ["DELIVER_SUBJECT", "Deliver_Subject", "deliver_\u017fubject"]) {
      assert.equal(check({ config: { [key]: evil } }).action, "refuse", key);
      assert.equal(check({ CONFIG: { [key]: evil } }).action, "refuse", `CONFIG ${key}`);
    }
    assert.equal(check({ config: { deliver_subject: `choria.reply.${md5Hex(me)}.ok`, Deliver_subject: evil } }).action, "refuse", "two keys fold together");
    assert.equal(check({ config: {}, Config: { deliver_subject: evil } }).action, "refuse");
  });

  test("lifecycle filters are refused; bodies Go could not read go on to the hub's own error", () => {
    for (const f of ["choria.lifecycle.>", ">", "choria.*.event.>", "*.lifecycle.event.alive.x"]) {
      assert.equal(check({ config: { filter_subject: f } }).action, "refuse", f);
    }
    assert.equal(check({ config: { filter_subjects: ["orders.>", "choria.>"] } }).action, "refuse");
    assert.equal(check({ config: { filter_subject: "orders.>" } }).action, "pass");
    for (const bad of ["", "not json", "{broken"]) assert.equal(checkConsumerCreate(-1, Buffer.from(bad), perms, ns).action, "pass", bad);
    for (const bad of ["[1]", '{"config":"x"}', '{"config":{"deliver_subject":5}}']) {
      assert.equal(checkConsumerCreate(-1, Buffer.from(bad), perms, ns).action, "refuse", bad);
    }
    // Invalid UTF-8 reads as U+FFFD, as in Go: the deliver subject is still seen and checked.
    const evil = Buffer.concat([Buffer.from(`{"config":{"x":"`), Buffer.from([0xff]), Buffer.from(`","deliver_subject":"choria.reply.${other}.x"}}`)]);
    assert.equal(checkConsumerCreate(-1, evil, perms, ns).action, "refuse", "invalid UTF-8 elsewhere in the body");
  });

  test("property: whatever the body, an accepted deliver subject is one the caller may subscribe to", () => {
    const subj = fc.oneof(
      fc.constantFrom("_INBOX.a", `choria.reply.${other}.z`, `choria.reply.${md5Hex(me)}.q`, "choria.lifecycle.x", "a.b", "choria.republish.k"),
      fc.string({ maxLength: 30 }),
    );
    const key = fc.constantFrom("deliver_subject", "DELIVER_SUBJECT", "deliver_\u017fubject", "deliver_group", "filter_subject", "x");
    fc.assert(fc.property(fc.dictionary(key, subj, { maxKeys: 4 }), (cfg) => {
      const v = check({ stream_name: "S", config: cfg });
      if (v.action === "refuse") return true;
      const sent = v.action === "rewrite" ? JSON.parse(Buffer.from(v.payload).toString()).config : cfg;
      for (const [k, val] of Object.entries(sent)) {
        if (k.toLowerCase().replace(/\u017f/g, "s") === "deliver_subject" && val !== "") {
          if (!perms.canSubscribe(String(val))) return false;
        }
      }
      return true;
    }));
  });
});

describe("stream create and update", () => {
  const admin = permissionsFromGrants(me, {
    publish: { allow: ["$JS.>", "choria.republish.>"], deny: [] },
    subscribe: { allow: [`*.reply.${md5Hex(me)}.>`, "$JS.EVENT.>"], deny: [] },
    policies: ["test"],
  });
  const s = (o: unknown) => checkStreamConfigure(-1, body(o), admin).action;
  test("which subjects carry a stream configuration", () => {
    assert.ok(isStreamConfigure("$JS.API.STREAM.CREATE.S"));
    assert.ok(isStreamConfigure("$JS.API.STREAM.UPDATE.S"));
    assert.ok(!isStreamConfigure("$JS.API.STREAM.INFO.S"));
  });
  test("republish only where the caller may publish; external delivery only where it may subscribe", () => {
    assert.equal(s({ name: "S", subjects: ["a.>"] }), "pass");
    assert.equal(s({ name: "S", republish: { src: ">", dest: "choria.republish.>" } }), "pass");
    assert.equal(s({ name: "S", republish: { src: ">", dest: `choria.reply.${other}.x` } }), "refuse");
    assert.equal(s({ name: "S", REPUBLISH: { src: ">", DEST: "choria.lifecycle.event.x" } }), "refuse");
    assert.equal(s({ name: "S", republish: { src: ">", dest: "choria.broadcast.agent.rpcutil" } }), "refuse");
    assert.equal(s({ name: "S", republish: { src: ">", dest: "choria.republish.x", Dest: "fleet.x" } }), "refuse");
    assert.equal(s({ name: "S", sources: [{ name: "O", external: { api: "$JS.hub.API", deliver: `choria.reply.${other}.steal` } }] }), "refuse");
    assert.equal(s({ name: "S", mirror: { name: "O", external: { api: "$JS.hub.API", deliver: `choria.reply.${md5Hex(me)}.mine` } } }), "pass");
    assert.equal(s({ name: "S", mirror: { name: "O", external: { api: "$JS.hub.API", deliver: "choria.lifecycle" } } }), "refuse");
    assert.equal(checkStreamConfigure(-1, Buffer.from("nope"), admin).action, "pass", "not JSON: the hub's own error");
  });
});

describe("lifecycle carried inside hub answers", () => {
  const hdr = (h: string) => Buffer.from(`NATS/1.0\r\n${h}\r\n\r\n`);
  test("direct get answers and republished copies name the subject in Nats-Subject", () => {
    const h = hdr("Nats-Stream: EV\r\nNats-Subject: choria.lifecycle.event.alive.n1\r\nNats-Sequence: 4");
    assert.ok(carriesLifecycleEvent(h.length, Buffer.concat([h, Buffer.from("{}")])));
    const ok = hdr("Nats-Stream: EV\r\nNats-Subject: orders.new");
    assert.ok(!carriesLifecycleEvent(ok.length, ok));
  });
  test("message get answers carry it in the JSON", () => {
    const m = (s: string) => Buffer.from(JSON.stringify({ type: "io.nats.jetstream.api.v1.stream_msg_get_response", message: { subject: s, seq: 1, data: "e30=" } }));
    assert.ok(carriesLifecycleEvent(-1, m("choria.lifecycle.event.alive.n1")));
    assert.ok(!carriesLifecycleEvent(-1, m("orders.x")));
    assert.ok(!carriesLifecycleEvent(-1, Buffer.from('{"type":"io.nats.jetstream.api.v1.stream_msg_get_response",broken')));
    assert.ok(!carriesLifecycleEvent(-1, Buffer.from("plain body choria.lifecycle.x")));
  });
});
