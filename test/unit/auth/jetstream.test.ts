// JetStream request decisions (auth/jetstream.ts), one table per kind of
// request and per hole closed: _INBOX deliver subjects rewritten into the
// caller's namespace from the parsed body (never by text), foreign, lifecycle
// and ungranted deliver subjects refused, keys given twice at any depth
// refused, `$JS.<domain>.API.` checked exactly like `$JS.API.`, streams that
// could capture another caller's replies or lifecycle refused, snapshots and
// restores refused; and lifecycle events carried inside hub answers decided
// only from what the hub sets.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  carriesLifecycleEvent, checkJsRequest, storedSubject, consumerCreatePermissionSubject, isCheckedJsRequest, jsApiOpStart, unmapDeliverSubjects,
} from "../../../src/auth/jetstream.js";
import { CallerPolicy, type PermissionGrants } from "../../../src/auth/caller_policy.js";
import { md5Hex } from "../../../src/auth/reply_namespace.js";
import { subjectMatches as subjectMatchesPattern } from "../../../src/subject/subject.js";
const permissionsFromGrants = (id: string, g: PermissionGrants) => new CallerPolicy(id, "choria", g);
const CREATE = "$JS.API.CONSUMER.CREATE.S";
const checkConsumerCreate = (hdr: number, payload: Uint8Array, p: CallerPolicy, subject = CREATE) => checkJsRequest(subject, hdr, payload, p);
const me = "up=alice";
const other = md5Hex("up=mallory");
const perms = permissionsFromGrants(me, {
  publish: { allow: ["$JS.API.>"], deny: [] },
  subscribe: { allow: [`*.reply.${md5Hex(me)}.>`, "choria.republish.>"], deny: [] },
  policies: ["test"],
});
const body = (o: unknown): Uint8Array => Buffer.from(JSON.stringify(o));
const check = (o: unknown, hdr = -1, payload?: Uint8Array) => checkConsumerCreate(hdr, payload ?? body(o), perms);
const raw = (text: string, subject = CREATE, p = perms) => checkJsRequest(subject, -1, Buffer.from(text), p);

describe("consumer create", () => {
  test("subjects whose body is checked, with and without a JetStream domain", () => {
    for (const api of ["$JS.API.", "$JS.hub.API.", "$JS.some-domain.API."]) {
      for (const op of ["CONSUMER.CREATE.ORDERS", "CONSUMER.CREATE.ORDERS.c.orders.>", "CONSUMER.DURABLE.CREATE.ORDERS.c", "STREAM.CREATE.S", "STREAM.UPDATE.S", "STREAM.SNAPSHOT.S", "STREAM.RESTORE.S", "DIRECT.GET.S"]) {
        assert.ok(isCheckedJsRequest(api + op), api + op);
      }
      for (const op of ["CONSUMER.INFO.ORDERS.c", "STREAM.INFO.S", "STREAM.MSG.GET.S", "INFO"]) assert.ok(!isCheckedJsRequest(api + op), api + op);
    }
    for (const other of ["$JS.ACK.S.c.1.2.3.4.5", "$JS.EVENT.ADVISORY.x", "$JS.hub.APIX.STREAM.CREATE.S", "$JS..API.STREAM.CREATE.S", "$KV.B.k", "JS.API.STREAM.CREATE.S", "$JS.API"]) {
      assert.ok(!isCheckedJsRequest(other), other);
    }
    assert.equal(jsApiOpStart("$JS.hub.API.STREAM.CREATE.S"), "$JS.hub.API.".length);
    assert.equal(jsApiOpStart("$JS.API.STREAM.CREATE.S"), "$JS.API.".length);
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
    assert.ok(narrow.mayPublish(p("$JS.API.CONSUMER.CREATE.S.c.orders.*")));
    assert.ok(!narrow.mayPublish(p("$JS.API.CONSUMER.CREATE.S.c.orders.>")), "> covers more than the grant");
    assert.ok(!narrow.mayPublish(p("$JS.API.CONSUMER.CREATE.S.c.>")));
    // The same under a domain: the filter starts one token later.
    assert.equal(p("$JS.hub.API.CONSUMER.CREATE.S.c.orders.*"), "$JS.hub.API.CONSUMER.CREATE.S.c.orders._filter_wildcard_");
    assert.equal(p("$JS.hub.API.CONSUMER.CREATE.*.c.x"), "$JS.hub.API.CONSUMER.CREATE.*.c.x");
    assert.equal(p("$JS.hub.API.CONSUMER.CREATE.S.*.x"), "$JS.hub.API.CONSUMER.CREATE.S.*.x");
  });

  test("pull consumers and own-namespace deliver subjects pass unchanged", () => {
    assert.equal(check({ stream_name: "S", config: { ack_policy: "explicit" } }).action, "pass");
    assert.equal(check({ stream_name: "S", config: { deliver_subject: `choria.reply.${md5Hex(me)}.d1` } }).action, "pass");
    assert.equal(check({ stream_name: "S", config: { deliver_subject: "choria.republish.x" } }).action, "pass");
  });

  test("an _INBOX deliver subject is rewritten into the caller's namespace, other bytes kept", () => {
    const raw = '{"stream_name":"S","config":{"deliver_subject":"_INBOX.abc","opt_start_seq":18446744073709551615}}';
    const v = checkConsumerCreate(-1, Buffer.from(raw), perms);
    assert.equal(v.action, "rewrite");
    if (v.action !== "rewrite") return;
    assert.equal(v.deliverSubject, `choria.reply.${md5Hex(me)}._INBOX.abc`);
    assert.equal(Buffer.from(v.payload).toString(), raw.replace("_INBOX.abc", `choria.reply.${md5Hex(me)}._INBOX.abc`));
  });

  test("headers are kept in front of a rewritten body", () => {
    const hdr = Buffer.from("NATS/1.0\r\nX: y\r\n\r\n");
    const b = body({ config: { deliver_subject: "_INBOX.h" } });
    const v = checkConsumerCreate(hdr.length, Buffer.concat([hdr, b]), perms);
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

  test("lifecycle filters are refused; a body that cannot be read is refused too", () => {
    for (const f of ["choria.lifecycle.>", ">", "choria.*.event.>", "*.lifecycle.event.alive.x"]) {
      assert.equal(check({ config: { filter_subject: f } }).action, "refuse", f);
    }
    assert.equal(check({ config: { filter_subjects: ["orders.>", "choria.>"] } }).action, "refuse");
    assert.equal(check({ config: { filter_subject: "orders.>" } }).action, "pass");
    for (const bad of ["", "not json", "{broken", '{"config":{}} x', "[1]", '{"config":"x"}', '{"config":{"deliver_subject":5}}', '{"config":{"filter_subjects":"a"}}', '{"config":{"filter_subjects":[1]}}']) {
      assert.equal(checkConsumerCreate(-1, Buffer.from(bad), perms).action, "refuse", bad);
    }
    // Invalid UTF-8 reads as U+FFFD, as in Go: the deliver subject is still seen and checked.
    const evil = Buffer.concat([Buffer.from(`{"config":{"x":"`), Buffer.from([0xff]), Buffer.from(`","deliver_subject":"choria.reply.${other}.x"}}`)]);
    assert.equal(checkConsumerCreate(-1, evil, perms).action, "refuse", "invalid UTF-8 elsewhere in the body");
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
          if (perms.routeSubscribe(String(val)) === null) return false;
        }
      }
      return true;
    }));
  });
});

describe("hole 1: keys given twice, at any depth", () => {
  const victim = `choria.reply.${other}.x`;
  test("a second config, mirror or nested key is refused, whatever its case", () => {
    for (const body of [
      `{"config":{"deliver_subject":"${victim}"},"config":{"ack_policy":"none"}}`,
      `{"config":{"ack_policy":"none"},"config":{"deliver_subject":"${victim}"}}`,
      `{"config":{"deliver_subject":"${victim}"},"CONFIG":{"ack_policy":"none"}}`,
      `{"config":{"ack_policy":"none","ack_policy":"explicit"}}`,
      `{"config":{"metadata":{"a":"1","a":"2"}}}`,
      `{"config":{"deliver_subject":"_INBOX.a","deliver_ſubject":"${victim}"}}`,
    ]) assert.equal(raw(body).action, "refuse", body);
    const admin = permissionsFromGrants(me, { publish: { allow: ["$JS.>"], deny: [] }, subscribe: { allow: [], deny: [] }, policies: [] });
    for (const body of [
      '{"name":"S","mirror":{"name":"A"},"mirror":{"filter_subject":"choria.reply.>"}}',
      '{"name":"S","subjects":["a.>"],"subjects":["choria.lifecycle.>"]}',
      '{"name":"S","sources":[{"name":"A","filter_subject":"a.>","filter_subject":">"}]}',
    ]) assert.equal(raw(body, "$JS.API.STREAM.CREATE.S", admin).action, "refuse", body);
  });
  test("property: no body with a key repeated anywhere is accepted", () => {
    const key = fc.constantFrom("config", "deliver_subject", "ack_policy", "x", "name");
    const leaf = fc.constantFrom('"_INBOX.a"', "1", "null", '"a.b"');
    // An object with one key repeated (possibly in another case), nested inside ordinary objects.
    const dup = fc.tuple(key, leaf, leaf, fc.boolean()).map(([k, a, b, upper]) => `{"${k}":${a},"${upper ? k.toUpperCase() : k}":${b}}`);
    const nested = fc.tuple(dup, fc.array(key, { maxLength: 3 })).map(([inner, path]) => path.reduce((acc, k) => `{"${k}":${acc}}`, inner));
    fc.assert(fc.property(nested, (text) => raw(`{"config":${text}}`).action === "refuse"));
  });
});

describe("hole 2: the deliver subject is rewritten in the parsed body, never as text", () => {
  test("an escaped deliver subject is rewritten, the same text elsewhere is left alone", () => {
    const v = raw('{"config":{"description":"_INBOX.x.1","deliver_subject":"_INBOX\\u002ex.1"}}');
    assert.equal(v.action, "rewrite");
    if (v.action !== "rewrite") return;
    const sent = JSON.parse(Buffer.from(v.payload).toString());
    assert.equal(sent.config.deliver_subject, `choria.reply.${md5Hex(me)}._INBOX.x.1`);
    assert.equal(sent.config.description, "_INBOX.x.1");
    assert.equal(v.deliverSubject, sent.config.deliver_subject);
  });
  test("property: the body sent reads as the body received, with only the deliver subject mapped", () => {
    const text = fc.string({ maxLength: 12 });
    fc.assert(fc.property(fc.dictionary(fc.constantFrom("description", "name", "durable_name", "x"), text, { maxKeys: 3 }), fc.string({ maxLength: 8 }).filter((t) => /^[a-z0-9]+$/.test(t)), (extra, tail) => {
      const cfg = { ...extra, deliver_subject: `_INBOX.${tail || "t"}`, opt_start_seq: 1 };
      const sentText = JSON.stringify({ config: cfg }).replace('"opt_start_seq":1', '"opt_start_seq":18446744073709551615');
      const v = raw(sentText);
      if (v.action !== "rewrite") return false;
      const out = Buffer.from(v.payload).toString();
      const got = JSON.parse(out).config;
      if (got.deliver_subject !== `choria.reply.${md5Hex(me)}._INBOX.${tail || "t"}`) return false;
      for (const [k, val] of Object.entries(extra)) if (got[k] !== val) return false;
      return out.includes('"opt_start_seq":18446744073709551615');
    }));
  });
});

describe("hole 3: $JS.<domain>.API gets every check $JS.API gets", () => {
  const admin = permissionsFromGrants(me, { publish: { allow: ["$JS.>"], deny: [] }, subscribe: { allow: [`*.reply.${md5Hex(me)}.>`], deny: [] }, policies: [] });
  test("consumer create, stream create and update, snapshot, direct get", () => {
    for (const api of ["$JS.API.", "$JS.hub.API."]) {
      assert.equal(raw(`{"config":{"deliver_subject":"choria.reply.${other}.x"}}`, `${api}CONSUMER.CREATE.S`, admin).action, "refuse", api);
      assert.equal(raw(`{"config":{"deliver_subject":"choria.lifecycle.x"}}`, `${api}CONSUMER.DURABLE.CREATE.S.d`, admin).action, "refuse", api);
      assert.equal(raw(`{"config":{"deliver_subject":"_INBOX.d"}}`, `${api}CONSUMER.CREATE.S.d`, admin).action, "rewrite", api);
      assert.equal(raw('{"name":"S","subjects":["choria.reply.>"]}', `${api}STREAM.CREATE.S`, admin).action, "refuse", api);
      assert.equal(raw('{"name":"S","republish":{"src":">","dest":"choria.lifecycle.x"}}', `${api}STREAM.UPDATE.S`, admin).action, "refuse", api);
      assert.equal(raw('{"deliver_subject":"_INBOX.snap"}', `${api}STREAM.SNAPSHOT.S`, admin).action, "refuse", api);
      assert.equal(raw('{"last_by_subj":"a.b","no_hdr":true}', `${api}DIRECT.GET.S`, admin).action, "refuse", api);
      assert.equal(raw('{"name":"S","subjects":["orders.>"]}', `${api}STREAM.CREATE.S`, admin).action, "pass", api);
    }
  });
});

describe("direct get without headers (no_hdr, nats-server 2.12): the stored subject would be hidden", () => {
  const admin = permissionsFromGrants(me, { publish: { allow: ["$JS.>"], deny: [] }, subscribe: { allow: [`*.reply.${md5Hex(me)}.>`], deny: [] }, policies: [] });
  const get = (text: string, subject = "$JS.API.DIRECT.GET.S") => checkJsRequest(subject, -1, Buffer.from(text), admin);
  test("every spelling Go reads as no_hdr: true is refused, under both forms of the subject", () => {
    const spellings = ['"no_hdr"', '"NO_HDR"', '"No_Hdr"', '"no\\u005fhdr"', '"\\u006eo_hdr"', '"no_h\\u0064r"', '"\\u004eO_HDR"'];
    for (const key of spellings) {
      for (const subject of ["$JS.API.DIRECT.GET.S", "$JS.API.DIRECT.GET.S.$KV.b.k", "$JS.hub.API.DIRECT.GET.S"]) {
        const v = get(`{"last_by_subj":"choria.lifecycle.event.x", ${key} : true}`, subject);
        assert.equal(v.action, "refuse", `${key} on ${subject}`);
      }
    }
  });
  test("headers kept, no body, or a body that cannot be read", () => {
    assert.equal(get('{"last_by_subj":"a.b","no_hdr":false}').action, "pass");
    assert.equal(get('{"seq":3}').action, "pass");
    assert.equal(get('{"last_by_subj":"a.b","no_headers":true}').action, "pass", "not a field nats-server has");
    assert.equal(get("", "$JS.API.DIRECT.GET.S.$KV.b.k").action, "pass", "the usual KV get");
    assert.equal(get(" \r\n", "$JS.API.DIRECT.GET.S.$KV.b.k").action, "pass", "white space: the hub answers 408");
    assert.equal(get('{"no_hdr":true,"NO_HDR":false}').action, "refuse", "a key given twice");
    assert.equal(get('{"no_hdr":tru').action, "refuse", "unreadable");
  });
  test("property: refused exactly when the body holds no_hdr true in any case", () => {
    fc.assert(fc.property(fc.boolean(), fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), fc.boolean(), (value, upper, escapeFirst) => {
      let key = [..."no_hdr"].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join("");
      if (escapeFirst) key = `\\u${key.charCodeAt(0).toString(16).padStart(4, "0")}${key.slice(1)}`;
      return get(`{"seq":1,"${key}":${value}}`).action === (value ? "refuse" : "pass");
    }));
  });
});

describe("hole 4: streams that could capture another caller's replies or lifecycle", () => {
  const admin = permissionsFromGrants(me, {
    publish: { allow: ["$JS.>", "choria.republish.>"], deny: [] },
    subscribe: { allow: [`*.reply.${md5Hex(me)}.>`, "$JS.EVENT.>"], deny: [] },
    policies: ["test"],
  });
  const s = (o: unknown, subject = "$JS.API.STREAM.CREATE.S") => checkJsRequest(subject, -1, body(o), admin).action;
  test("stream subjects, transforms, mirror and source filters", () => {
    for (const bad of ["choria.reply.>", `choria.reply.${other}.>`, "choria.*.*.>", "*.reply.*.x", ">", "choria.>", "choria.lifecycle.>", "*.lifecycle.event.>", "_INBOX.>", "*.*"]) {
      assert.equal(s({ name: "S", subjects: ["orders.>", bad] }), "refuse", `subject ${bad}`);
      assert.equal(s({ name: "S", subjects: ["orders.>"], subject_transform: { src: "orders.>", dest: bad } }), "refuse", `transform ${bad}`);
      assert.equal(s({ name: "S", mirror: { name: "O", filter_subject: bad } }), "refuse", `mirror ${bad}`);
      assert.equal(s({ name: "S", sources: [{ name: "O" }, { name: "P", subject_transforms: [{ src: bad, dest: "x.>" }] }] }), "refuse", `source transform ${bad}`);
      assert.equal(s({ name: "S", sources: [{ name: "P", subject_transform_dest: bad }] }), "refuse", `source transform dest ${bad}`);
    }
    for (const ok of ["orders.>", `choria.reply.${md5Hex(me)}.>`, "choria.governor.x", "$KV.B.>", "choria.broadcast.agent.>"]) {
      assert.equal(s({ name: "S", subjects: [ok] }), "pass", ok);
      assert.equal(s({ name: "S", mirror: { name: "O", filter_subject: ok } }), "pass", ok);
    }
    assert.equal(s({ name: "S", subjects: "choria.reply.>" }), "refuse", "subjects must be an array");
    assert.equal(s({ name: "S", sources: [{ name: "P", subject_transforms: [5] }] }), "refuse");
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
    // nats-server 2.14 sources through a named durable: the stream takes in what arrives on its deliver subject.
    assert.equal(s({ name: "S", sources: [{ name: "O", consumer: { name: "C", deliver_subject: `choria.reply.${md5Hex(me)}.src` } }] }), "pass");
    for (const bad of [`choria.reply.${other}.src`, "choria.lifecycle.event.alive.n1", "_INBOX.src", "choria.reply.*.x", "fleet.x"]) {
      assert.equal(s({ name: "S", sources: [{ name: "O", consumer: { name: "C", deliver_subject: bad } }] }), "refuse", bad);
      assert.equal(s({ name: "S", mirror: { name: "O", CONSUMER: { name: "C", Deliver_Subject: bad } } }), "refuse", `mirror ${bad}`);
    }
    assert.equal(s({ name: "S", sources: [{ name: "O", consumer: "C" }] }), "refuse", "consumer must be an object");
    assert.equal(checkJsRequest("$JS.API.STREAM.CREATE.S", -1, Buffer.from("nope"), admin).action, "refuse", "a body that cannot be read");
  });
  test("property: an accepted stream stores nothing from lifecycle or another caller's namespace", () => {
    const tok = fc.constantFrom("choria", "reply", "lifecycle", other, md5Hex(me), "orders", "*", "x");
    const pattern = fc.tuple(fc.array(tok, { minLength: 1, maxLength: 5 }), fc.boolean()).map(([t, gt]) => [...t, ...(gt ? [">"] : [])].join("."));
    fc.assert(fc.property(fc.array(pattern, { minLength: 1, maxLength: 3 }), (subjects) => {
      if (s({ name: "S", subjects }) !== "pass") return true;
      for (const p of subjects) {
        for (const probe of [`choria.reply.${other}.r1`, "choria.lifecycle.event.alive.n1", `choria.reply.${other}.x.y`]) {
          if (subjectMatchesPattern(p, probe)) return false;
        }
      }
      return true;
    }));
  });
});

describe("hole 5: snapshots and restores", () => {
  test("refused through the gateway, whatever the deliver subject", () => {
    const admin = permissionsFromGrants(me, { publish: { allow: ["$JS.>"], deny: [] }, subscribe: { allow: [`*.reply.${md5Hex(me)}.>`], deny: [] }, policies: [] });
    for (const ds of ["_INBOX.snap", `choria.reply.${md5Hex(me)}.snap`, `choria.reply.${other}.snap`]) {
      assert.equal(raw(JSON.stringify({ deliver_subject: ds, chunk_size: 1024 }), "$JS.API.STREAM.SNAPSHOT.S", admin).action, "refuse", ds);
    }
    assert.equal(raw('{"config":{"name":"S","subjects":["choria.reply.>"]},"state":{}}', "$JS.API.STREAM.RESTORE.S", admin).action, "refuse");
  });
});

describe("hole 6: lifecycle carried inside hub answers, decided from what the hub sets", () => {
  const hdr = (h: string) => Buffer.from(`NATS/1.0\r\n${h}\r\n\r\n`);
  test("direct get answers and republished copies: the hub's Nats-Subject is the last one", () => {
    const h = hdr("Nats-Stream: EV\r\nNats-Subject: choria.lifecycle.event.alive.n1\r\nNats-Sequence: 4");
    assert.ok(carriesLifecycleEvent(undefined, h.length, Buffer.concat([h, Buffer.from("{}")])));
    const ok = hdr("Nats-Stream: EV\r\nNats-Subject: orders.new");
    assert.ok(!carriesLifecycleEvent(undefined, ok.length, ok));
    // A value stored with its own Nats-Subject header: the hub appends the real one after it.
    const poisoned = hdr("Nats-Subject: choria.lifecycle.event.alive.n1\r\nNats-Stream: KV_B\r\nNats-Subject: $KV.B.k\r\nNats-Sequence: 1");
    assert.ok(!carriesLifecycleEvent(undefined, poisoned.length, poisoned));
    const real = hdr("Nats-Subject: $KV.B.k\r\nNats-Stream: EV\r\nNats-Subject: choria.lifecycle.x");
    assert.ok(carriesLifecycleEvent(undefined, real.length, real));
    // Only the exact name counts, as nats-server writes and reads it.
    const lower = hdr("Nats-Stream: EV\r\nNats-Subject: $KV.B.k\r\nnats-subject: choria.lifecycle.x");
    assert.ok(!carriesLifecycleEvent(undefined, lower.length, lower));
  });
  test("stream deliveries (with a reply) are never judged by stored headers or body", () => {
    const h = hdr("Nats-Subject: choria.lifecycle.event.alive.n1");
    assert.ok(!carriesLifecycleEvent("$JS.ACK.KV_B.c.1.1.1.1.0@$KV.B.k", h.length, Buffer.concat([h, Buffer.from("{}")])));
    assert.ok(!carriesLifecycleEvent("$JS.ACK.KV_B.c.1.1.1.1.0@$KV.B.k", -1, msgGet("choria.lifecycle.x")));
  });
  test("message get answers carry it in the JSON; a stored body posing as one is not an answer", () => {
    assert.ok(carriesLifecycleEvent(undefined, -1, msgGet("choria.lifecycle.event.alive.n1")));
    assert.ok(!carriesLifecycleEvent(undefined, -1, msgGet("orders.x")));
    assert.ok(!carriesLifecycleEvent(undefined, -1, Buffer.from('{"type":"io.nats.jetstream.api.v1.stream_msg_get_response",broken')));
    assert.ok(!carriesLifecycleEvent(undefined, -1, Buffer.from("plain body choria.lifecycle.x")));
    // A direct get of a value whose body looks like a message-get answer: the answer has headers.
    const h = hdr("Nats-Stream: KV_B\r\nNats-Subject: $KV.B.k");
    assert.ok(!carriesLifecycleEvent(undefined, h.length, Buffer.concat([h, msgGet("choria.lifecycle.x")])));
  });
});

describe("the stored subject a hub answer carries", () => {
  const hdr = (h: string) => Buffer.from(`NATS/1.0\r\n${h}\r\n\r\n`);
  test("the hub's last Nats-Subject, a message-get answer's subject, nothing for deliveries or plain messages", () => {
    const h = hdr(`Nats-Subject: x.y\r\nNats-Stream: S\r\nNats-Subject: choria.reply.${other}.r`);
    assert.equal(storedSubject(undefined, h.length, h), `choria.reply.${other}.r`);
    assert.equal(storedSubject("$JS.ACK.S.c.1.1.1.1.0@a.b", h.length, h), undefined);
    assert.equal(storedSubject(undefined, -1, msgGet("orders.x")), "orders.x");
    assert.equal(storedSubject(undefined, -1, Buffer.from("{}")), undefined);
    assert.equal(storedSubject(undefined, -1, Buffer.from("hello")), undefined);
    const none = hdr("X: y");
    assert.equal(storedSubject(undefined, none.length, none), undefined);
  });
  test("the answer's prefix is compared in place: inside a larger read, one byte off, a Choria reply", () => {
    const answer = msgGet("orders.x");
    const line = Buffer.from(`LMSG a ${answer.length}\r\n`);
    const read = Buffer.concat([line, answer, Buffer.from("\r\n")]);
    assert.equal(storedSubject(undefined, -1, new Uint8Array(read.buffer, read.byteOffset + line.length, answer.length)), "orders.x");
    const prefix = '{"type":"io.nats.jetstream.api.v1.stream_msg_get_response"';
    const offByOne = Buffer.from(answer);
    offByOne[prefix.length - 2] ^= 0x20;
    assert.equal(storedSubject(undefined, -1, offByOne), undefined);
    assert.equal(storedSubject(undefined, -1, Buffer.from(prefix.slice(0, -1))), undefined);
    assert.equal(storedSubject(undefined, -1, Buffer.from('{"protocol":"choria:transport:1","data":"e30="}')), undefined);
  });
});

describe("answers shown with the client's own deliver subject", () => {
  const ns = `choria.reply.${md5Hex(me)}.`;
  test("every deliver_subject inside the caller's inbox namespace, nothing else", () => {
    const answer = { type: "io.nats.jetstream.api.v1.consumer_list_response", consumers: [{ config: { deliver_subject: `${ns}_INBOX.a`, description: `${ns}_INBOX.a` } }, { config: { deliver_subject: `${ns}other` } }], big: 1 };
    const text = JSON.stringify(answer).replace('"big":1', '"big":18446744073709551615');
    const out = unmapDeliverSubjects(-1, Buffer.from(text), ns);
    assert.ok(out);
    const got = JSON.parse(Buffer.from(out).toString());
    assert.equal(got.consumers[0].config.deliver_subject, "_INBOX.a");
    assert.equal(got.consumers[0].config.description, `${ns}_INBOX.a`);
    assert.equal(got.consumers[1].config.deliver_subject, `${ns}other`);
    assert.ok(Buffer.from(out).toString().includes("18446744073709551615"));
    assert.equal(unmapDeliverSubjects(-1, Buffer.from('{"config":{"deliver_subject":"_INBOX.a"}}'), ns), null);
    assert.equal(unmapDeliverSubjects(-1, Buffer.from(`not json ${ns}_INBOX.a`), ns), null);
  });
});

function msgGet(subject: string): Buffer {
  return Buffer.from(JSON.stringify({ type: "io.nats.jetstream.api.v1.stream_msg_get_response", message: { subject, seq: 1, data: "e30=" } }));
}
