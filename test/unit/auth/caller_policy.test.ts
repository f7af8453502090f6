/**
 * The caller policy compiled from the shipped policies: the allow/deny matrix
 * per permission flag (go-choria's client sets), the hard restrictions no
 * grant can lift, `_INBOX.` mapping, reply confinement, delivery filtering,
 * bounded verdict caches, deny-all on doubt.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { compileCallerPolicy, compileCallerPolicyOrDenyAll, evaluatePolicies } from "../../../src/auth/permissions.js";
import {
  Delivery,
  developmentPolicy,
  VERDICT_CACHE_ENTRIES,
  VERDICT_CACHE_MAX_KEY,
  type CallerPolicy,
} from "../../../src/auth/caller_policy.js";
import { defaultPoliciesDir, loadPolicies, parsePolicy, type Policy } from "../../../src/auth/policies.js";
import { md5Hex, sha256Hex } from "../../../src/auth/reply_namespace.js";
import type { ClientClaims, ClientPermissionFlags } from "../../../src/auth/types.js";

const policies = loadPolicies(defaultPoliciesDir());
const CALLER = "up=alice";
const MD5 = md5Hex(CALLER);
const SHA = sha256Hex(CALLER);
const OTHER = md5Hex("up=mallory");

function claims(permissions?: ClientPermissionFlags, extra: Partial<ClientClaims> = {}): ClientClaims {
  const c: ClientClaims = { purpose: "choria_client_id", callerid: CALLER, public_key: "ab".repeat(32), exp: 2_000_000_000, ou: "acme", ...extra };
  if (permissions) c.permissions = permissions;
  return c;
}

interface Row {
  name: string;
  flags?: ClientPermissionFlags;
  extra?: Partial<ClientClaims>;
  pubOk?: string[];
  pubNo?: string[];
  subOk?: string[];
  subNo?: string[];
}

const FLEET_PUBS = ["choria.broadcast.agent.rpcutil", "mcollective.broadcast.service.x", "choria.node.n1.example", "choria.federation.f1.federation"];

const matrix: Row[] = [
  {
    name: "no permissions (minimal)",
    pubOk: ["$SYS.REQ.USER.INFO"],
    pubNo: [...FLEET_PUBS, "$JS.API.INFO", "foo", "choria.reply.x.y"],
    subOk: [`choria.reply.${MD5}.x`, `choria.reply.${MD5}.>`, `*.reply.${SHA}.>`, `choria.reply.${MD5}._INBOX.>`, `mcollective.reply.${MD5}.*`],
    subNo: [`choria.reply.${OTHER}.>`, "foo", "$JS.EVENT.>", "acme.republish.>", `choria.reply.${MD5}`],
  },
  { name: "fleet_management", flags: { fleet_management: true }, pubOk: FLEET_PUBS, pubNo: ["choria.federation.f1.collective", "$JS.API.INFO", "choria.broadcast.agent"] },
  { name: "signed_fleet_management", flags: { signed_fleet_management: true }, pubOk: FLEET_PUBS, pubNo: ["$KV.x.y"] },
  {
    name: "streams_admin",
    flags: { streams_admin: true },
    pubOk: ["$JS.API.STREAM.CREATE.X", "$JS.API.INFO", "$JS.ACK.s.c.1"],
    pubNo: ["$KV.b.k", ...FLEET_PUBS],
    subOk: ["$JS.EVENT.ADVISORY.>", "$JS.EVENT.METRIC.x"],
    subNo: ["acme.republish.>"],
  },
  {
    name: "streams_user (ou acme)",
    flags: { streams_user: true },
    pubOk: ["$JS.API.INFO", "$JS.API.STREAM.INFO.S", "$JS.API.CONSUMER.MSG.NEXT.S.C", "$JS.API.DIRECT.GET.S.sub.j", "$KV.b.k", "$O.x.y", "$JS.ACK.s.c.1", "$JS.FC.x"],
    pubNo: ["$JS.API.STREAM.CREATE.X", "$JS.API.STREAM.DELETE.S", "$JS.API.CONSUMER.MSG.NEXT.S"],
    subOk: ["acme.republish.>", "acme.republish.x.y"],
    subNo: ["choria.republish.>", "$JS.EVENT.>"],
  },
  {
    name: "streams_user without ou uses choria",
    flags: { streams_user: true },
    extra: { ou: undefined },
    subOk: ["choria.republish.>"],
    subNo: ["acme.republish.>"],
  },
  {
    name: "events_viewer (lifecycle still refused)",
    flags: { events_viewer: true },
    subOk: ["choria.machine.transition", "choria.machine.watcher.>", "choria.machine.watcher.nagios.state"],
    subNo: ["choria.lifecycle.event.>", "choria.lifecycle.event.alive.server", "choria.machine.>"],
    pubNo: ["choria.machine.transition"],
  },
  {
    name: "election_user",
    flags: { election_user: true },
    pubOk: ["$JS.API.STREAM.INFO.KV_CHORIA_LEADER_ELECTION", "$KV.CHORIA_LEADER_ELECTION.x"],
    pubNo: ["$KV.OTHER.x", "$JS.API.STREAM.INFO.OTHER"],
  },
  { name: "governor alone grants nothing", flags: { governor: true }, pubNo: ["choria.governor.g1", "choria.lifecycle.event.governor.x"] },
  {
    name: "governor with streams_user",
    flags: { governor: true, streams_user: true },
    pubOk: ["choria.governor.g1", "choria.lifecycle.event.governor.server"],
    pubNo: ["choria.governor.g1.x", "choria.lifecycle.event.alive.server"],
  },
  { name: "governor with streams_admin", flags: { governor: true, streams_admin: true }, pubOk: ["mcollective.governor.g1"] },
  {
    name: "org_admin (hard restrictions remain)",
    flags: { org_admin: true },
    pubOk: ["anything.at.all", ...FLEET_PUBS, "choria.lifecycle.event.alive.server", `choria.reply.${OTHER}.1`],
    // `foo.>` only overlaps other collectives' reply subjects: allowed, and filtered at delivery (see below).
    subOk: ["foo.bar.baz", "foo.bar.>", "$JS.EVENT.>", `choria.reply.${MD5}.>`, "foo.>", "_INBOX.>", "_INBOX.abc.*"],
    subNo: [">", "choria.>", "*.lifecycle.>", "choria.*.event.>", "choria.lifecycle.>", "choria.reply.>", "*.reply.*.>", "*.reply.>", `choria.reply.${OTHER}.>`, "*.*.*.*", "_INBOX", `choria.reply.${OTHER}._INBOX.>`],
  },
  {
    name: "token pub_subjects / sub_subjects",
    extra: { pub_subjects: ["custom.pub.>"], sub_subjects: ["custom.sub.*"] },
    pubOk: ["custom.pub.x.y"],
    pubNo: ["custom.sub.x"],
    subOk: ["custom.sub.x"],
    subNo: ["custom.sub.>", "custom.pub.x"],
  },
  {
    name: "token sub_subjects cannot lift the hard restrictions",
    extra: { sub_subjects: [">", "choria.lifecycle.>", `choria.reply.${OTHER}.>`, "*.reply.>"] },
    subNo: [">", "choria.lifecycle.>", "choria.lifecycle.event.alive.x", `choria.reply.${OTHER}.>`, `choria.reply.${OTHER}.1`, "*.reply.>"],
  },
];

/** Adapters so the tables read as yes/no questions. */
const canSubscribe = (p: CallerPolicy, s: string): boolean => p.routeSubscribe(s) !== null;
const canDeliver = (p: CallerPolicy, s: string): boolean => p.deliver(s, false) === Delivery.Ok;

describe("permission matrix", () => {
  for (const row of matrix) {
    test(row.name, () => {
      const p = compileCallerPolicy(claims(row.flags, row.extra), policies, { collective: "choria" });
      // twice, so a cached verdict is checked as well as a computed one
      for (let round = 0; round < 2; round++) {
        for (const s of row.pubOk ?? []) assert.equal(p.mayPublish(s), true, `publish ${s}`);
        for (const s of row.pubNo ?? []) assert.equal(p.mayPublish(s), false, `publish ${s}`);
        for (const s of row.subOk ?? []) assert.equal(canSubscribe(p, s), true, `subscribe ${s}`);
        for (const s of row.subNo ?? []) assert.equal(canSubscribe(p, s), false, `subscribe ${s}`);
      }
    });
  }
});

describe("hard restrictions", () => {
  const admin = compileCallerPolicy(claims({ org_admin: true }), policies, { collective: "choria" });
  const dev = developmentPolicy(CALLER, "choria");

  test("_INBOX. subscriptions are mapped into the caller's namespace, never routed raw", () => {
    for (const p of [admin, dev]) {
      assert.equal(p.routeSubscribe("_INBOX.>"), `choria.reply.${MD5}._INBOX.>`);
      assert.equal(p.routeSubscribe("_INBOX.abc.*"), `choria.reply.${MD5}._INBOX.abc.*`);
      assert.equal(p.routeSubscribe(`choria.reply.${OTHER}._INBOX.>`), null);
      assert.equal(p.routeSubscribe("_INBOX"), null);
    }
  });

  test("a wildcard overlapping another collective's reply subjects is filtered at delivery", () => {
    for (const p of [admin, dev]) {
      assert.equal(canSubscribe(p, "ops.>"), true);
      assert.equal(canDeliver(p, "ops.status.x"), true);
      assert.equal(canDeliver(p, `ops.reply.${OTHER}.1`), false);
      assert.equal(canDeliver(p, `ops.reply.${MD5}.1`), true);
    }
  });

  test("deliver filters lifecycle events, foreign replies and raw inboxes even for org_admin", () => {
    for (const p of [admin, dev]) {
      assert.equal(p.deliver("choria.lifecycle.event.alive.server", false), Delivery.Lifecycle);
      assert.equal(p.deliver("choria.lifecycle.event.alive.server", true), Delivery.Lifecycle);
      assert.equal(canDeliver(p, `choria.reply.${OTHER}.1`), false);
      assert.equal(canDeliver(p, `choria.reply.${MD5}.1`), true);
      assert.equal(canDeliver(p, `choria.reply.${SHA}._INBOX.x`), true);
      assert.equal(canDeliver(p, "foo.bar"), true);
      assert.equal(canDeliver(p, "choria.reply"), true);
      // a hub client's generic inbox reaches no wildcard subscription here, only a mapped one
      assert.equal(p.deliver("_INBOX.abc", false), Delivery.Refused);
      assert.equal(p.deliver(`choria.reply.${MD5}._INBOX.abc`, true), Delivery.Ok);
    }
  });

  test("invalid subjects are refused", () => {
    for (const s of ["", "foo..bar", "foo.>.bar", "a b"]) {
      assert.equal(canSubscribe(admin, s), false, s);
      assert.equal(admin.mayPublish(s), false, s);
    }
    assert.equal(admin.mayPublish("foo.*"), false, "publish to a wildcard");
    assert.equal(admin.mayPublish("_GR_.x.y"), false, "reserved gateway reply subject");
  });

  test("describe lists grants and the hard denies", () => {
    const d = compileCallerPolicy(claims({ fleet_management: true }), policies, { collective: "choria" }).describe();
    assert.ok(d.publish.allow.includes("*.broadcast.agent.>"));
    assert.ok(d.publish.allow.includes("$SYS.REQ.USER.INFO"));
    assert.ok(d.subscribe.allow.includes(`*.reply.${MD5}.>`));
    assert.ok(d.subscribe.allow.includes(`*.reply.${SHA}.>`));
    assert.ok(d.subscribe.deny.includes("choria.lifecycle.>"));
  });
});

describe("policy denies", () => {
  const custom: Policy = parsePolicy(
    {
      when: { always: true },
      publish: ["x.>"],
      subscribe: ["foo.bar.>"],
      deny: { publish: ["x.secret"], subscribe: ["foo.bar.secret", "foo.bar.hidden.>"] },
    },
    "custom.json",
  );

  test("deny beats allow; overlapping wildcard subscriptions are filtered at delivery", () => {
    const p = compileCallerPolicy(claims(), [custom], { collective: "choria" });
    for (let round = 0; round < 2; round++) {
      assert.equal(p.mayPublish("x.public"), true);
      assert.equal(p.mayPublish("x.secret"), false);
      assert.equal(canSubscribe(p, "foo.bar.>"), true);
      assert.equal(canSubscribe(p, "foo.bar.secret"), false);
      assert.equal(canSubscribe(p, "foo.bar.hidden.>"), false);
      assert.equal(canDeliver(p, "foo.bar.public"), true);
      assert.equal(canDeliver(p, "foo.bar.secret"), false);
      assert.equal(canDeliver(p, "foo.bar.hidden.deep.x"), false);
    }
    assert.deepEqual(p.describe().publish.deny, ["x.secret", "_GR_.> (reserved)"]);
  });

  test("conditions: permission, account, all/any", () => {
    const acct = parsePolicy({ when: { account: "other" }, publish: ["acct.x"] }, "acct.json");
    const p = compileCallerPolicy(claims(), [acct], { collective: "choria" });
    assert.equal(p.mayPublish("acct.x"), false);
    const q = compileCallerPolicy(claims(), [acct], { collective: "choria", account: "other" });
    assert.equal(q.mayPublish("acct.x"), true);
    const grants = evaluatePolicies(claims({ streams_user: true, governor: true }), policies, { collective: "choria" });
    assert.ok(grants.policies.includes("governor"));
    assert.ok(grants.policies.includes("streams_user"));
    assert.ok(!grants.policies.includes("org_admin"));
  });

  test("templates expand per caller and collective", () => {
    const tpl = parsePolicy({ when: { always: true }, publish: ["{{collective}}.x.{{caller_md5}}", "{{ ou }}.y.{{caller_sha256}}"] }, "tpl.json");
    const p = compileCallerPolicy(claims(), [tpl], { collective: "mcollective" });
    assert.equal(p.mayPublish(`mcollective.x.${MD5}`), true);
    assert.equal(p.mayPublish(`acme.y.${SHA}`), true);
    assert.equal(p.mayPublish(`choria.x.${MD5}`), false);
  });
});

describe("deny-all on doubt", () => {
  test("a policy that fails to expand yields deny-all and reports the error", () => {
    const broken: Policy = { ...parsePolicy({ when: { always: true }, publish: ["ok.x"] }, "b.json"), publish: ["{{nope}}.x"] };
    let reported: unknown;
    const p = compileCallerPolicyOrDenyAll(claims({ org_admin: true }), [...policies, broken], { collective: "choria" }, (e) => (reported = e));
    assert.ok(reported instanceof Error);
    assert.equal(p.mayPublish("anything"), false);
    assert.equal(canSubscribe(p, `choria.reply.${MD5}.>`), false);
    assert.equal(canSubscribe(p, "_INBOX.>"), false);
    assert.equal(canDeliver(p, "foo"), false);
    assert.equal(p.routePublishReply("_INBOX.x"), null);
  });

  test("an invalid token subject yields deny-all", () => {
    let reported = false;
    const p = compileCallerPolicyOrDenyAll(claims(undefined, { pub_subjects: ["bad..subject"] }), policies, { collective: "choria" }, () => (reported = true));
    assert.equal(reported, true);
    assert.equal(p.mayPublish("$SYS.REQ.USER.INFO"), false);
  });
});

describe("reply namespace and _INBOX mapping", () => {
  const p = developmentPolicy(CALLER, "choria");

  test("prefix is <collective>.reply.<md5hex(callerid)>", () => {
    assert.equal(MD5, createHash("md5").update(CALLER).digest("hex"));
    assert.equal(SHA, createHash("sha256").update(CALLER).digest("hex"));
    assert.equal(p.replyPrefix, `choria.reply.${MD5}`);
    assert.equal(developmentPolicy(CALLER, "mcollective").replyPrefix, `mcollective.reply.${MD5}`);
  });

  for (const s of ["_INBOX.abc", "_INBOX.abc.*", "_INBOX.>", "_INBOX.Yz9.1.2.3"]) {
    test(`subscribe mapping round trip: ${s}`, () => {
      const mapped = p.routeSubscribe(s);
      assert.equal(mapped, `choria.reply.${MD5}.${s}`);
      assert.equal(p.isMapped(s), true);
      assert.equal(p.clientSubject(mapped!), s);
    });
  }

  test("subjects outside _INBOX. are never rewritten", () => {
    for (const s of ["foo", "_INBOXx.a", "x._INBOX.a", "_inbox.a", "ops.>"]) {
      assert.equal(p.isMapped(s), false, s);
      const routed = p.routeSubscribe(s);
      assert.ok(routed === null || routed === s, s);
      assert.equal(p.clientSubject(s), s, s);
    }
    // a delivered subject in the namespace but not from a mapped _INBOX stays as it is
    assert.equal(p.clientSubject(`choria.reply.${MD5}.1234`), `choria.reply.${MD5}.1234`);
    assert.equal(p.clientSubject(`choria.reply.${OTHER}._INBOX.x`), `choria.reply.${OTHER}._INBOX.x`);
  });
});

describe("reply confinement", () => {
  const admin = compileCallerPolicy(claims({ org_admin: true }), policies, { collective: "choria" });
  const minimal = compileCallerPolicy(claims(), policies, { collective: "choria" });

  test("inbox replies are mapped into the caller's namespace", () => {
    for (const p of [admin, minimal]) {
      assert.equal(p.routePublishReply("_INBOX.abc.1"), `choria.reply.${MD5}._INBOX.abc.1`);
    }
  });

  test("the caller's own namespace (md5 or sha256, any collective) passes unchanged", () => {
    for (const r of [`choria.reply.${MD5}.1`, `other.reply.${SHA}.x.y`, `mcollective.reply.${MD5}.abc.0`]) {
      assert.equal(admin.routePublishReply(r), r, r);
      assert.equal(minimal.routePublishReply(r), r, r);
    }
  });

  // Every shape outside the caller's namespace, even for org_admin who may publish anywhere.
  const refused: [string, string][] = [
    ["another caller's namespace", `choria.reply.${OTHER}.1`],
    ["another caller's namespace in another collective", `mcollective.reply.${OTHER}.x.y`],
    ["another caller's mapped inbox", `choria.reply.${OTHER}._INBOX.x`],
    ["a hash that only starts like ours", `choria.reply.${MD5}x.1`],
    ["the bare namespace (no reply inside it)", `choria.reply.${MD5}`],
    ["a wildcard in the namespace", "choria.reply.*.x"],
    ["a wildcard inbox", "_INBOX.*"],
    ["lifecycle events", "choria.lifecycle.event.alive.server"],
    ["the system account", "$SYS.REQ.SERVER.PING"],
    ["the JetStream API", "$JS.API.STREAM.DELETE.ORDERS"],
    ["a JetStream ack subject", "$JS.ACK.S.C.1.1.1.1.0"],
    ["a KV bucket", "$KV.b.k"],
    ["a route reply", "_R_.abc.x"],
    ["a gateway reply", "_GR_.abc.x"],
    ["a fleet subject", "choria.broadcast.agent.rpcutil"],
    ["a plain subject", "foo.bar"],
    ["an invalid subject", "foo..bar"],
    ["an empty inbox token", "_INBOX."],
    ["a raw _INBOX", "_INBOX"],
  ];
  for (const [what, reply] of refused) {
    test(`refused: ${what}`, () => {
      assert.equal(admin.routePublishReply(reply), null, reply);
      assert.equal(minimal.routePublishReply(reply), null, reply);
    });
  }
});

describe("deliveries on the caller's behalf (JetStream deliver subjects)", () => {
  const p = compileCallerPolicy(claims({ streams_user: true }), policies, { collective: "choria" });
  test("the subscribe rule with the same mapping", () => {
    assert.equal(p.routeDeliverySubject("_INBOX.push.1"), `choria.reply.${MD5}._INBOX.push.1`);
    assert.equal(p.routeDeliverySubject(`choria.reply.${MD5}.push`), `choria.reply.${MD5}.push`);
    for (const s of [`choria.reply.${OTHER}.push`, "choria.lifecycle.event.x", "choria.broadcast.agent.x", "_INBOX", "a.*"]) {
      assert.equal(p.routeDeliverySubject(s), null, s);
    }
  });
});

describe("verdict caches are bounded", () => {
  const custom = parsePolicy({ when: { always: true }, publish: ["x.>"], subscribe: ["x.>"], deny: { subscribe: ["x.secret.>"] } }, "c.json");

  test("entries stay within the bound whatever is asked, and long subjects are never cached", () => {
    const p = compileCallerPolicy(claims(), [custom], { collective: "choria" });
    for (let i = 0; i < 5000; i++) {
      p.mayPublish(`x.${i}`);
      p.mayPublish(`denied.${i}`);
      p.deliver(`x.secret.${i}`, false);
    }
    assert.ok(p.cachedVerdicts <= 2 * VERDICT_CACHE_ENTRIES, String(p.cachedVerdicts));
    const fresh = compileCallerPolicy(claims(), [custom], { collective: "choria" });
    const long = "y.".repeat(VERDICT_CACHE_MAX_KEY) + "z";
    for (let i = 0; i < 100; i++) {
      assert.equal(fresh.mayPublish(`${long}.${i}`), false);
      assert.equal(fresh.deliver(`x.secret.${long}.${i}`, false), Delivery.Refused);
    }
    assert.equal(fresh.cachedVerdicts, 0);
  });

  test("a verdict from the cache equals the computed one", () => {
    const p = compileCallerPolicy(claims(), [custom], { collective: "choria" });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 300; i++) {
        assert.equal(p.mayPublish(`x.${i % 200}`), true);
        assert.equal(p.mayPublish(`q.${i % 200}`), false);
        assert.equal(canDeliver(p, `x.secret.${i % 200}`), false);
        assert.equal(canDeliver(p, `x.open.${i % 200}`), true);
      }
    }
  });
});
