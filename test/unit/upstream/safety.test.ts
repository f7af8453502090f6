/**
 * Upstream safety rules (safety.ts) and the hub INFO reader (hub_info.ts):
 * table tests of what a hub refuses, property tests that wildcards are never
 * refused, that the JetStream deny follows its switch, that the caller-facing
 * predicate agrees with the link's own filter, and that no INFO shape (wrong
 * types, unknown fields, random JSON) makes the reader throw.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { HubRules, JETSTREAM_DENY, hubRefusesSubscription, refusedSubjectOf } from "../../../src/upstream/safety.js";
import { isLeafnodeInfo, parseHubInfo } from "../../../src/upstream/hub_info.js";

const token = fc.stringMatching(/^[A-Za-z0-9_$-]{1,8}$/);
const literal = fc.array(token, { minLength: 1, maxLength: 5 }).map((t) => t.join("."));
const wildcard = fc.tuple(fc.array(token, { maxLength: 3 }), fc.constantFrom("*", ">")).map(([t, w]) => [...t, w].join("."));

describe("HubRules", () => {
  const strict = HubRules.initial(true);
  const extended = HubRules.initial(false);

  test("table: the JetStream deny, $LDS., import and export grants", () => {
    const granted = strict.withGrants({ allow: ["foo.>", "$KV.ok"], deny: ["foo.secret"] }, { deny: ["ops.>"] });
    const table: [HubRules, string, boolean, boolean][] = [
      // rules, subject, refuses LS+, refuses LMSG
      [strict, "$KV.x", true, true],
      [strict, "$KV.bucket.key", true, true],
      [strict, "$JS.API.STREAM.INFO.x", true, true],
      [strict, "$OBJ.b.c", true, true],
      [strict, "$JS.ACK.stream.c.1.2.3.4.5", false, false],
      [strict, "$JS.domain.API.STREAM.INFO.x", false, false],
      [strict, "$LDS.abc", true, false],
      [strict, "choria.broadcast.agent.x", false, false],
      [extended, "$KV.x", false, false],
      [extended, "$LDS.abc", true, false],
      [granted, "foo.x", false, false],
      [granted, "foo.secret", true, false],
      [granted, "bar", true, false],
      [granted, "$KV.ok", true, true], // the implicit deny wins over an explicit allow
      [granted, "ops.restart", true, true], // outside the import allow list, and export-denied
    ];
    for (const [rules, subject, sub, pub] of table) {
      assert.equal(rules.refusesInterest(subject), sub, `LS+ ${subject}`);
      assert.equal(rules.refusesPublish(subject), pub, `LMSG ${subject}`);
    }
  });

  test("the JetStream deny covers messages only for hubs that check leaf publishes (2.14 on)", () => {
    for (const [version, pub] of [["2.9.10", false], ["2.13.5", false], ["2.14.0", true], ["2.14.1", true], [undefined, true], ["junk", true]] as const) {
      const r = strict.withGrants(null, null, version);
      assert.equal(r.refusesInterest("$KV.b.k"), true, `LS+ on ${version}`);
      assert.equal(r.refusesPublish("$KV.b.k"), pub, `LMSG on ${version}`);
      assert.equal(r.refusesPublish("$JS.API.STREAM.INFO.x"), pub, `LMSG on ${version}`);
    }
    assert.equal(strict.withGrants(null, { deny: ["ops.>"] }, "2.9.10").refusesPublish("ops.x"), true, "export grants still apply");
  });

  test("property: a wildcard LS+ is never refused (the hub checks literals only)", () => {
    const granted = strict.withGrants({ allow: ["a.>"] }, null);
    fc.assert(fc.property(wildcard, (s) => !strict.refusesInterest(s) && !granted.refusesInterest(s)), { numRuns: 2000 });
  });

  test("property: under the deny every literal below $JS.API/$KV/$OBJ is refused both ways; without it none is", () => {
    const prefix = fc.constantFrom(...JETSTREAM_DENY.map((p) => p.slice(0, -2)));
    fc.assert(fc.property(prefix, fc.array(token, { minLength: 1, maxLength: 4 }), (p, rest) => {
      const s = [p, ...rest].join(".");
      return strict.refusesInterest(s) && strict.refusesPublish(s) && !extended.refusesInterest(s) && !extended.refusesPublish(s);
    }), { numRuns: 2000 });
  });

  test("property: the caller-facing predicate is the link's own filter", () => {
    fc.assert(fc.property(fc.oneof(literal, wildcard), fc.boolean(), (s, deny) => {
      const rules = HubRules.initial(deny);
      return hubRefusesSubscription(s, rules) === rules.refusesInterest(s);
    }), { numRuns: 2000 });
  });

  test("the subject named in a hub's refusal", () => {
    assert.deepEqual(refusedSubjectOf('Permissions Violation for Subscription to "$KV.x"'), { kind: "subscribe", subject: "$KV.x" });
    assert.deepEqual(refusedSubjectOf('Permissions Violation for Publish to "ops.restart"'), { kind: "publish", subject: "ops.restart" });
    assert.equal(refusedSubjectOf("Authorization Violation"), null);
    assert.equal(refusedSubjectOf('Loop detected for leafnode account="$G"'), null);
  });
});

describe("parseHubInfo", () => {
  test("fields of every version, typed; unknown ones ignored", () => {
    const info = parseHubInfo(JSON.stringify({
      server_id: "N1", server_name: "hub", version: "2.14.0", proto: 1, headers: true, max_payload: 1048576,
      client_id: 9, nonce: "n", leafnode_urls: ["a:1", 7, "b:2"], compression: "s2_auto", domain: "hub",
      api_lvl: 1, xkey: "X", some_future_field: { deep: [1, 2] }, connect_info: true, import: { allow: ["x"] },
    }));
    assert.equal(info.compression, "s2_auto");
    assert.equal(info.domain, "hub");
    assert.deepEqual(info.leafnodeUrls, ["a:1", "b:2"]);
    assert.equal(info.connectInfo, true);
    assert.equal(isLeafnodeInfo(info), true);
  });

  test("wrong types read as absent; a client port's INFO is not a leafnode INFO", () => {
    const info = parseHubInfo({ headers: "yes", max_payload: -1, client_id: "7", leafnode_urls: "a:1", compression: 1 });
    assert.equal(info.headers, undefined);
    assert.equal(info.maxPayload, 0);
    assert.equal(info.compression, undefined);
    assert.equal(isLeafnodeInfo(info), false);
    assert.throws(() => parseHubInfo("[1,2]"));
  });

  test("property: any JSON object parses without throwing", () => {
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (o) => {
      parseHubInfo(JSON.stringify(o));
      return true;
    }), { numRuns: 3000 });
  });
});
