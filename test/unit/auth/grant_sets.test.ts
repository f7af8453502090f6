/**
 * Grant sets shared between callers (src/auth/grant_sets.ts): equal lists
 * share one sealed set, nothing can change a shared set, a list naming the
 * caller itself is never shared, the table stays bounded, and a shared set
 * answers exactly as a set of its own would (property, with evictions
 * between). Then the same through caller policies: callers with equal
 * permissions share, callers with different permissions never see each
 * other's grants, and a policy keeps a fraction of the heap it used to.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { grantSet, sharedGrantSets } from "../../../src/auth/grant_sets.js";
import { compileCallerPolicy } from "../../../src/auth/permissions.js";
import { defaultPoliciesDir, loadPolicies } from "../../../src/auth/policies.js";
import { md5Hex, sha256Hex } from "../../../src/auth/reply_namespace.js";
import { GatewayError } from "../../../src/errors.js";
import { SubjectSet } from "../../../src/subject/subject_set.js";
import { heapAfterGc } from "../../helpers/heap.js";

const NO_OWN: readonly string[] = [];

describe("grant sets", () => {
  test("equal lists share one set; a different order or another list gets its own", () => {
    const a = grantSet(["ops.a.>", "ops.b.*"], NO_OWN);
    assert.equal(grantSet(["ops.a.>", "ops.b.*"], NO_OWN), a);
    assert.notEqual(grantSet(["ops.b.*", "ops.a.>"], NO_OWN), a);
    assert.notEqual(grantSet(["ops.a.>"], NO_OWN), a);
    assert.deepEqual(a.patterns(), ["ops.a.>", "ops.b.*"]);
  });

  test("nothing can add a pattern to a set: shared or not, add() throws and the set is unchanged", () => {
    const shared = grantSet(["ops.a.>"], NO_OWN);
    assert.throws(() => shared.add(">"), /sealed/);
    assert.equal(shared.matches("anything.else"), false);
    const own = grantSet(["*.reply.abc.>"], ["abc"]);
    assert.throws(() => own.add(">"), /sealed/);
    assert.equal(own.matches("x.reply.def.1"), false);
  });

  test("a list naming the caller's own hash is built for that caller alone and never enters the table", () => {
    const before = sharedGrantSets().sets;
    const md5 = md5Hex("up=carol");
    const list = [`*.reply.${md5}.>`, "ops.>"];
    const first = grantSet(list, [md5]);
    const second = grantSet(list, [md5]);
    assert.notEqual(first, second);
    assert.equal(sharedGrantSets().sets, before);
    assert.equal(first.matches(`choria.reply.${md5}.1`), true);
  });

  test("an invalid pattern throws even when a valid list with the same characters is shared", () => {
    // A key made by joining with a blank would give both lists one key; the JSON key does not.
    grantSet(["x", "y"], NO_OWN);
    assert.throws(
      () => grantSet(["x y"], NO_OWN),
      (err: unknown) => err instanceof GatewayError && err.code === "GW_ERR_INVALID_SUBJECT",
    );
    grantSet(["x,y"], NO_OWN);
    assert.throws(() => grantSet(["x", "y", "bad..subject"], NO_OWN), GatewayError);
  });

  test("the table stays bounded under many distinct lists, and the list every caller uses stays shared", () => {
    const common = ["$JS.API.INFO", "$KV.>", "*.broadcast.agent.>"];
    const kept = grantSet(common, NO_OWN);
    for (let i = 0; i < 2_000; i++) {
      grantSet([`tenant.${i}.>`, `tenant.${i}.x${"y".repeat((i % 50) * 150)}`], NO_OWN);
      assert.equal(grantSet(common, NO_OWN), kept);
    }
    const { sets, chars } = sharedGrantSets();
    assert.ok(sets <= 256, `${sets} sets kept`);
    assert.ok(chars <= 1024 * 1024, `${chars} key characters kept`);
    // A very long list (a token with very many subjects) is never kept.
    const long = Array.from({ length: 2_000 }, (_, i) => `long.subject.number.${i}.with.some.tokens`);
    assert.notEqual(grantSet(long, NO_OWN), grantSet(long, NO_OWN));
  });

  test("property: a shared set answers matches, covers and intersects as a set of its own does, whatever was shared and evicted before", () => {
    const token = fc.constantFrom("a", "b", "c", "reply", "$JS", "API", "*");
    const pattern = fc.tuple(fc.array(token, { minLength: 1, maxLength: 4 }), fc.boolean()).map(([ts, gt]) => (gt ? [...ts, ">"] : ts).join("."));
    const literal = fc.array(fc.constantFrom("a", "b", "c", "reply", "$JS", "API"), { minLength: 1, maxLength: 5 }).map((ts) => ts.join("."));
    const query = fc.oneof(literal, pattern);
    fc.assert(
      fc.property(fc.array(fc.array(pattern, { maxLength: 6 }), { minLength: 1, maxLength: 8 }), fc.array(query, { minLength: 1, maxLength: 10 }), (lists, queries) => {
        for (const list of lists) {
          const shared = grantSet(list, NO_OWN);
          const own = new SubjectSet(list, { cacheSize: 0 });
          assert.deepEqual(shared.patterns(), own.patterns());
          for (const q of queries) {
            if (!q.includes("*") && !q.includes(">")) assert.equal(shared.matches(q), own.matches(q), `matches ${q} in ${list}`);
            assert.equal(shared.covers(q), own.covers(q), `covers ${q} in ${list}`);
            assert.equal(shared.intersects(q), own.intersects(q), `intersects ${q} in ${list}`);
          }
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("caller policies with shared grant sets", () => {
  const policies = loadPolicies(defaultPoliciesDir());
  const FULL = { fleet_management: true, streams_user: true, events_viewer: true, election_user: true, governor: true };
  const policy = (callerid: string, permissions: Record<string, boolean>) =>
    compileCallerPolicy({ purpose: "choria_client_id", callerid, public_key: "", exp: 2e9, permissions }, policies, { collective: "choria" });

  test("callers with different permissions never get each other's grants, in either order", () => {
    const admin = policy("up=admin", { org_admin: true });
    const fleet = policy("up=fleet", { fleet_management: true });
    const admin2 = policy("up=admin2", { org_admin: true });
    assert.equal(admin.mayPublish("$JS.API.STREAM.CREATE.X"), true);
    assert.equal(admin2.mayPublish("$JS.API.STREAM.CREATE.X"), true);
    assert.equal(fleet.mayPublish("$JS.API.STREAM.CREATE.X"), false);
    assert.equal(fleet.mayPublish("choria.broadcast.agent.rpcutil"), true);
    assert.equal(policy("up=nobody", {}).mayPublish("choria.broadcast.agent.rpcutil"), false);
  });

  test("callers sharing grant sets stay confined to their own reply namespaces", () => {
    const alice = policy("up=alice", FULL);
    const bob = policy("up=bob", FULL);
    assert.deepEqual(alice.describe().publish, bob.describe().publish);
    assert.notEqual(alice.routeSubscribe(`choria.reply.${md5Hex("up=alice")}.>`), null);
    assert.equal(alice.routeSubscribe(`choria.reply.${md5Hex("up=bob")}.>`), null);
    assert.equal(alice.routeSubscribe(`choria.reply.${sha256Hex("up=bob")}.>`), null);
    assert.equal(bob.routeSubscribe(`choria.reply.${md5Hex("up=alice")}.>`), null);
    assert.ok(!alice.describe().subscribe.allow.some((p) => p.includes(md5Hex("up=bob"))));
  });

  test("a caller's policy keeps under 16 KiB of heap with every Choria permission (30 KiB before sharing)", () => {
    const N = 500;
    policy("up=warm", FULL);
    const before = heapAfterGc();
    const kept = Array.from({ length: N }, (_, i) => policy(`up=user${i}`, FULL));
    const perPolicy = (heapAfterGc() - before) / N;
    console.log(`[figures] heap per caller policy with every Choria permission: ${Math.round(perPolicy)} bytes`);
    assert.equal(kept.length, N);
    assert.ok(perPolicy < 16 * 1024, `${Math.round(perPolicy)} bytes per policy`);
  });
});
