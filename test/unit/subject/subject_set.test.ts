/**
 * SubjectSet: the permission-check view of the trie. Checks matches/covers/
 * intersects against tables shaped like the gateway's real lists (lifecycle
 * deny, private reply namespaces), with and without the verdict cache.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { GatewayError } from "../../../src/errors.js";
import { SubjectSet } from "../../../src/subject/subject_set.js";

for (const cacheSize of [1024, 0]) {
  describe(`SubjectSet (cacheSize ${cacheSize})`, () => {
    const allow = () => new SubjectSet(["choria.reply.abc.>", "*.broadcast.agent.*", "svc.ping", "_INBOX.>"], { cacheSize });

    test("size, patterns and de-duplication", () => {
      const set = new SubjectSet(["a.>", "b", "a.>"], { cacheSize });
      assert.equal(set.size, 2);
      assert.deepEqual(set.patterns(), ["a.>", "b"]);
      set.patterns().push("mutated");
      assert.equal(set.size, 2, "patterns() returns a copy");
      const empty = new SubjectSet(undefined, { cacheSize });
      assert.equal(empty.size, 0);
      assert.equal(empty.matches("anything"), false);
      assert.equal(empty.covers(">"), false);
      assert.equal(empty.intersects(">"), false);
    });

    test("matches literal subjects", () => {
      const set = allow();
      const table: ReadonlyArray<readonly [string, boolean]> = [
        ["choria.reply.abc.x", true],
        ["choria.reply.abc.x.y", true],
        ["choria.reply.abc", false],
        ["choria.reply.def.x", false],
        ["choria.broadcast.agent.rpcutil", true],
        ["choria.broadcast.agent.rpcutil.x", false],
        ["svc.ping", true],
        ["svc.pong", false],
        ["_INBOX.x", true],
      ];
      for (const [subject, expected] of table) {
        assert.equal(set.matches(subject), expected, subject);
        assert.equal(set.matches(subject), expected, `${subject} (second, cached when on)`);
      }
    });

    test("covers: a subscription inside some pattern", () => {
      const set = allow();
      const table: ReadonlyArray<readonly [string, boolean]> = [
        ["choria.reply.abc.>", true],
        ["choria.reply.abc.*", true],
        ["choria.reply.*.>", false],
        ["choria.reply.>", false],
        ["x.broadcast.agent.*", true],
        ["*.broadcast.agent.*", true],
        ["*.broadcast.>", false],
        ["svc.ping", true],
        ["svc.*", false],
        [">", false],
        ["_INBOX.abc", true],
      ];
      for (const [subject, expected] of table) assert.equal(set.covers(subject), expected, subject);
    });

    test("intersects: the lifecycle deny against wide subscriptions", () => {
      const deny = new SubjectSet(["choria.lifecycle.>", "choria.reply.other.>"], { cacheSize });
      const table: ReadonlyArray<readonly [string, boolean]> = [
        [">", true],
        ["choria.>", true],
        ["choria.*.event", true], // choria.lifecycle.event
        ["choria.*", false],
        ["choria.*.event.x", true],
        ["*.reply.*.>", true],
        ["choria.reply.mine.>", false],
        ["choria.lifecycle.event.alive.x", true],
        ["choria.lifecycle", false],
        ["other.>", false],
      ];
      for (const [subject, expected] of table) assert.equal(deny.intersects(subject), expected, subject);
    });

    test("add after checks resets cached verdicts", () => {
      const set = new SubjectSet(["a"], { cacheSize });
      assert.equal(set.matches("b.c"), false);
      set.add("b.*");
      assert.equal(set.matches("b.c"), true);
      assert.equal(set.covers("b.*"), true);
    });

    test("invalid patterns throw a typed error", () => {
      for (const bad of ["", "a..b", "foo.>.bar", "a b", ".a"]) {
        assert.throws(
          () => new SubjectSet([bad], { cacheSize }),
          (e: unknown) => e instanceof GatewayError && e.code === "GW_ERR_INVALID_SUBJECT",
          JSON.stringify(bad),
        );
      }
    });
  });
}

test("the verdict cache stays bounded and correct past its size", () => {
  const set = new SubjectSet(["k.*"], { cacheSize: 8 });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 50; i++) {
      assert.equal(set.matches(`k.${i}`), true);
      assert.equal(set.matches(`j.${i}`), false);
    }
  }
});
