/**
 * The hub's interest as we mirror it: one entry per key with no ref-count,
 * queue weights restated in place, matches for forward(), and `$LDS.` subjects.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { HubInterest } from "../../../src/upstream/hub_interest.js";

test("plain, wildcard and queue interest match literal subjects", () => {
  const h = new HubInterest();
  h.add("up.>", undefined, 1);
  h.add("bar", "qgrp", 2);
  h.add("bar", "other", 1);
  h.add("*.x", undefined, 1);
  const table: [string, boolean, string[]][] = [
    ["up.a.b", true, []],
    ["bar", false, ["qgrp", "other"]],
    ["up.x", true, []],
    ["b.x", true, []],
    ["nobody", false, []],
  ];
  for (const [subject, plain, queues] of table) {
    const m = h.match(subject);
    assert.equal(m.plain, plain, subject);
    assert.deepEqual([...m.queues].sort(), [...queues].sort(), subject);
  }
});

test("duplicate LS+ keeps one entry, and one LS- removes it (hub semantics)", () => {
  const h = new HubInterest();
  h.add("foo", undefined, 1);
  h.add("foo", undefined, 1);
  assert.equal(h.size, 1);
  h.remove("foo", undefined);
  assert.equal(h.match("foo").plain, false);
});

test("a queue LS+ with a new weight updates, LS- subj q removes", () => {
  const h = new HubInterest();
  h.add("work", "wq", 1);
  h.add("work", "wq", 3);
  assert.equal(h.size, 1);
  assert.equal([...h.entries()][0]!.weight, 3);
  assert.deepEqual(h.match("work").queues, ["wq"]);
  h.remove("work", "wq");
  assert.deepEqual(h.match("work").queues, []);
});

test("unknown LS- and invalid subjects are ignored", () => {
  const h = new HubInterest();
  h.remove("never", undefined);
  assert.equal(h.add("bad..subject", undefined, 1), false);
  assert.equal(h.add("a.>.b", undefined, 1), false);
  assert.equal(h.size, 0);
});

test("match results are cached until interest changes", () => {
  const h = new HubInterest();
  h.add("a.*", undefined, 1);
  const first = h.match("a.b");
  assert.equal(h.match("a.b"), first);
  h.add("a.b", "q", 1);
  const second = h.match("a.b");
  assert.notEqual(second, first);
  assert.deepEqual(second.queues, ["q"]);
});

test("$LDS. subjects from the hub are remembered until removed or cleared", () => {
  const h = new HubInterest();
  h.add("$LDS.hXbWNd9XYIB0Ql1azWBevy", undefined, 1);
  assert.equal(h.isHubLoopSubject("$LDS.hXbWNd9XYIB0Ql1azWBevy"), true);
  assert.equal(h.isHubLoopSubject("$LDS.other"), false);
  h.remove("$LDS.hXbWNd9XYIB0Ql1azWBevy", undefined);
  assert.equal(h.isHubLoopSubject("$LDS.hXbWNd9XYIB0Ql1azWBevy"), false);
  h.add("$LDS.again", undefined, 1);
  h.add("x", undefined, 1);
  h.clear();
  assert.equal(h.isHubLoopSubject("$LDS.again"), false);
  assert.equal(h.size, 0);
  assert.equal(h.match("x").plain, false);
});
