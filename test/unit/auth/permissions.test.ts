/**
 * Permissions compiled from the shipped policies: the allow/deny matrix per
 * permission flag (go-choria's client sets, docs/protocol.md#permission-sets), the hard
 * restrictions no grant can lift, delivery filtering, deny-all on doubt. The
 * matrix runs with the verdict caches on, off and at size 1.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  compilePermissions,
  compilePermissionsOrDenyAll,
  developmentPermissions,
  evaluatePolicies,
} from "../../../src/auth/permissions.js";
import { defaultPoliciesDir, loadPolicies, parsePolicy, type Policy } from "../../../src/auth/policies.js";
import { createReplyNamespace, md5Hex, sha256Hex } from "../../../src/auth/reply_namespace.js";
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
    subOk: ["foo.bar.baz", "foo.bar.>", "$JS.EVENT.>", `choria.reply.${MD5}.>`, "foo.>"],
    subNo: [">", "choria.>", "*.lifecycle.>", "choria.*.event.>", "choria.lifecycle.>", "choria.reply.>", "*.reply.*.>", "*.reply.>", `choria.reply.${OTHER}.>`, "*.*.*.*", "_INBOX.>", "_INBOX.abc.*"],
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

for (const cacheSize of [undefined, 0, 1]) {
  describe(`permission matrix (verdict cache ${cacheSize ?? "default"})`, () => {
    for (const row of matrix) {
      test(row.name, () => {
        const opts = cacheSize === undefined ? { collective: "choria" } : { collective: "choria", cacheSize };
        const p = compilePermissions(claims(row.flags, row.extra), policies, opts);
        // twice, so a cached verdict is checked as well as a computed one
        for (let round = 0; round < 2; round++) {
          for (const s of row.pubOk ?? []) assert.equal(p.canPublish(s), true, `publish ${s}`);
          for (const s of row.pubNo ?? []) assert.equal(p.canPublish(s), false, `publish ${s}`);
          for (const s of row.subOk ?? []) assert.equal(p.canSubscribe(s), true, `subscribe ${s}`);
          for (const s of row.subNo ?? []) assert.equal(p.canSubscribe(s), false, `subscribe ${s}`);
        }
      });
    }
  });
}

describe("hard restrictions", () => {
  const admin = compilePermissions(claims({ org_admin: true }), policies, { collective: "choria" });
  const dev = developmentPermissions(CALLER);

  test("_INBOX.> is refused raw and allowed after mapping into the caller's namespace", () => {
    const mine = createReplyNamespace("choria", CALLER);
    const theirs = createReplyNamespace("choria", "up=mallory");
    for (const p of [admin, dev]) {
      assert.equal(p.canSubscribe("_INBOX.>"), false);
      assert.equal(p.canSubscribe(mine.mapSubscribe("_INBOX.>")), true);
      assert.equal(p.canSubscribe(mine.mapSubscribe("_INBOX.abc.*")), true);
      assert.equal(p.canSubscribe(theirs.mapSubscribe("_INBOX.>")), false);
    }
  });

  test("a wildcard overlapping another collective's reply subjects is filtered at delivery", () => {
    for (const p of [admin, dev]) {
      assert.equal(p.canSubscribe("ops.>"), true);
      assert.equal(p.canDeliver("ops.status.x"), true);
      assert.equal(p.canDeliver(`ops.reply.${OTHER}.1`), false);
      assert.equal(p.canDeliver(`ops.reply.${MD5}.1`), true);
    }
  });

  test("canDeliver filters lifecycle events and foreign replies even for org_admin", () => {
    for (const p of [admin, dev]) {
      assert.equal(p.canDeliver("choria.lifecycle.event.alive.server"), false);
      assert.equal(p.canDeliver(`choria.reply.${OTHER}.1`), false);
      assert.equal(p.canDeliver(`choria.reply.${MD5}.1`), true);
      assert.equal(p.canDeliver(`choria.reply.${SHA}._INBOX.x`), true);
      assert.equal(p.canDeliver("foo.bar"), true);
      assert.equal(p.canDeliver("choria.reply"), true);
    }
  });

  test("invalid subjects are refused", () => {
    for (const s of ["", "foo..bar", "foo.>.bar", "a b"]) {
      assert.equal(admin.canSubscribe(s), false, s);
      assert.equal(admin.canPublish(s), false, s);
    }
    assert.equal(admin.canPublish("foo.*"), false, "publish to a wildcard");
  });

  test("describe lists grants and the hard denies", () => {
    const d = compilePermissions(claims({ fleet_management: true }), policies, { collective: "choria" }).describe();
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
    const p = compilePermissions(claims(), [custom], { collective: "choria" });
    assert.equal(p.canPublish("x.public"), true);
    assert.equal(p.canPublish("x.secret"), false);
    assert.equal(p.canSubscribe("foo.bar.>"), true);
    assert.equal(p.canSubscribe("foo.bar.secret"), false);
    assert.equal(p.canSubscribe("foo.bar.hidden.>"), false);
    assert.equal(p.canDeliver("foo.bar.public"), true);
    assert.equal(p.canDeliver("foo.bar.secret"), false);
    assert.equal(p.canDeliver("foo.bar.hidden.deep.x"), false);
    assert.deepEqual(p.describe().publish.deny, ["x.secret"]);
  });

  test("conditions: permission, account, all/any", () => {
    const acct = parsePolicy({ when: { account: "other" }, publish: ["acct.x"] }, "acct.json");
    const p = compilePermissions(claims(), [acct], { collective: "choria" });
    assert.equal(p.canPublish("acct.x"), false);
    const q = compilePermissions(claims(), [acct], { collective: "choria", account: "other" });
    assert.equal(q.canPublish("acct.x"), true);
    const grants = evaluatePolicies(claims({ streams_user: true, governor: true }), policies, { collective: "choria" });
    assert.ok(grants.policies.includes("governor"));
    assert.ok(grants.policies.includes("streams_user"));
    assert.ok(!grants.policies.includes("org_admin"));
  });

  test("templates expand per caller and collective", () => {
    const tpl = parsePolicy({ when: { always: true }, publish: ["{{collective}}.x.{{caller_md5}}", "{{ ou }}.y.{{caller_sha256}}"] }, "tpl.json");
    const p = compilePermissions(claims(), [tpl], { collective: "mcollective" });
    assert.equal(p.canPublish(`mcollective.x.${MD5}`), true);
    assert.equal(p.canPublish(`acme.y.${SHA}`), true);
    assert.equal(p.canPublish(`choria.x.${MD5}`), false);
  });
});

describe("deny-all on doubt", () => {
  test("a policy that fails to expand yields deny-all and reports the error", () => {
    const broken: Policy = { ...parsePolicy({ when: { always: true }, publish: ["ok.x"] }, "b.json"), publish: ["{{nope}}.x"] };
    let reported: unknown;
    const p = compilePermissionsOrDenyAll(claims({ org_admin: true }), [...policies, broken], { collective: "choria" }, (e) => (reported = e));
    assert.ok(reported instanceof Error);
    assert.equal(p.canPublish("anything"), false);
    assert.equal(p.canSubscribe(`choria.reply.${MD5}.>`), false);
    assert.equal(p.canDeliver("foo"), false);
  });

  test("an invalid token subject yields deny-all", () => {
    let reported = false;
    const p = compilePermissionsOrDenyAll(claims(undefined, { pub_subjects: ["bad..subject"] }), policies, { collective: "choria" }, () => (reported = true));
    assert.equal(reported, true);
    assert.equal(p.canPublish("$SYS.REQ.USER.INFO"), false);
  });
});
