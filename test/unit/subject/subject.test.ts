/**
 * Table tests for subject syntax and the pattern relations in src/subject/subject.ts,
 * following docs/protocol.md#subjects (verified against nats-server 2.9.10).
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  hasWildcard,
  isSubsetOf,
  isValidLiteralSubject,
  isValidSubject,
  subjectMatches,
  subjectsIntersect,
} from "../../../src/subject/subject.js";

// [subject, valid subscription subject, valid literal (publishable)]
const syntaxTable: ReadonlyArray<readonly [string, boolean, boolean]> = [
  ["foo", true, true],
  ["foo.bar", true, true],
  ["foo.bar.baz", true, true],
  ["$SYS.REQ.SERVER.PING", true, true],
  ["_INBOX.abc123", true, true],
  ["choria.reply.0123abcd._INBOX.x", true, true],
  ["FOO.Bar", true, true],
  ["foo*", true, true], // wildcard only as a whole token
  ["foo.>x", true, true],
  ["foo.*bar", true, true],
  ["foo.>>", true, true],
  ["**", true, true],
  ["grüße.日本.😀", true, true], // UTF-8 is allowed
  ["a-b_c:d/e", true, true],
  ["*", true, false],
  [">", true, false],
  ["foo.*", true, false],
  ["foo.>", true, false],
  ["*.bar.>", true, false],
  ["*.*.*", true, false],
  ["foo.*.baz", true, false],
  ["", false, false],
  [".", false, false],
  [".a", false, false],
  ["a.", false, false],
  ["a..b", false, false],
  ["foo.>.bar", false, false],
  [">.foo", false, false],
  [">.>", false, false],
  ["foo bar", false, false],
  ["foo\tbar", false, false],
  ["foo\rbar", false, false],
  ["foo\nbar", false, false],
  ["foo\fbar", false, false],
  [" foo", false, false],
  ["foo.*.", false, false],
  ["foo.> ", false, false],
];

describe("subject syntax", () => {
  for (const [subject, valid, literal] of syntaxTable) {
    test(`${JSON.stringify(subject)} valid=${valid} literal=${literal}`, () => {
      assert.equal(isValidSubject(subject), valid);
      assert.equal(isValidLiteralSubject(subject), literal);
      if (valid) assert.equal(hasWildcard(subject), !literal);
    });
  }
});

describe("hasWildcard", () => {
  const table: ReadonlyArray<readonly [string, boolean]> = [
    ["foo", false],
    ["foo*", false],
    ["foo.>x", false],
    ["*", true],
    [">", true],
    ["a.*.b", true],
    ["a.>", true],
    ["foo.>.bar", true], // invalid, but it does hold a wildcard token
    ["", false],
  ];
  for (const [subject, expected] of table) {
    test(JSON.stringify(subject), () => assert.equal(hasWildcard(subject), expected));
  }
});

describe("subjectMatches", () => {
  // [pattern, literal, matches]
  const table: ReadonlyArray<readonly [string, string, boolean]> = [
    ["foo", "foo", true],
    ["foo", "Foo", false],
    ["foo", "foo.bar", false],
    ["foo.bar", "foo", false],
    ["foo.bar", "foo.bar", true],
    ["foo.bar", "foo.baz", false],
    ["foo.bar", "foo.barx", false],
    ["foo.barx", "foo.bar", false],
    ["*", "foo", true],
    ["*", "foo.bar", false],
    ["foo.*", "foo.bar", true],
    ["foo.*", "foo", false],
    ["foo.*", "foo.bar.baz", false],
    ["*.bar", "foo.bar", true],
    ["*.bar", "foo.baz", false],
    ["foo.*.baz", "foo.x.baz", true],
    ["foo.*.baz", "foo.x.y", false],
    [">", "foo", true],
    [">", "foo.bar.baz", true],
    ["foo.>", "foo", false],
    ["foo.>", "foo.bar", true],
    ["foo.>", "foo.bar.baz", true],
    ["foo.>", "bar.baz", false],
    ["*.>", "foo", false],
    ["*.>", "foo.bar", true],
    ["*.*.>", "a.b.c.d", true],
    ["foo*", "foo*", true],
    ["foo*", "foox", false],
    ["foo.>x", "foo.>x", true],
    ["foo.>x", "foo.bar", false],
    ["choria.lifecycle.>", "choria.lifecycle.event.alive.x", true],
    ["*.reply.*.>", "choria.reply.abc.x", true],
    ["*.reply.*.>", "choria.reply.abc", false],
    ["日本.*", "日本.語", true],
    ["", "", false],
    [">", "", false],
  ];
  for (const [pattern, literal, expected] of table) {
    test(`${pattern} ~ ${literal}`, () => assert.equal(subjectMatches(pattern, literal), expected));
  }
});

describe("subjectsIntersect", () => {
  const table: ReadonlyArray<readonly [string, string, boolean]> = [
    [">", "choria.lifecycle.>", true],
    ["*.reply.*.>", "choria.reply.abc.x", true],
    ["a.*", "b.>", false],
    ["foo", "foo", true],
    ["foo", "bar", false],
    ["foo.*", "foo.bar", true],
    ["foo.*", "foo.>", true],
    ["foo.*", "*.bar", true],
    ["foo.*", "*.*.*", false],
    ["foo.>", "foo", false],
    ["foo.>", "*", false],
    ["foo.>", "*.*.*.*", true],
    ["*", ">", true],
    ["*", "foo.bar", false],
    ["*.bar.*", "foo.*.baz", true],
    ["*.bar.*", "foo.baz.*", false],
    ["a.b.>", "a.c.>", false],
    ["a.*.c", "a.b.>", true],
    ["a.b", "a.b.c", false],
    ["choria.lifecycle.>", "choria.*", false],
    ["choria.lifecycle.>", "choria.*.x", true],
  ];
  for (const [a, b, expected] of table) {
    test(`${a} ∩ ${b}`, () => {
      assert.equal(subjectsIntersect(a, b), expected);
      assert.equal(subjectsIntersect(b, a), expected, "intersection is symmetric");
    });
  }
});

describe("isSubsetOf", () => {
  // [sub, pattern, every literal of sub is matched by pattern]
  const table: ReadonlyArray<readonly [string, string, boolean]> = [
    ["foo.bar", "foo.*", true],
    ["foo.*", "foo.>", true],
    ["foo.>", "foo.*", false],
    ["foo.bar", "foo.bar", true],
    ["foo.bar", "foo.baz", false],
    ["foo.*", "foo.bar", false],
    ["foo.*", "foo.*", true],
    ["foo.>", "foo.>", true],
    ["foo.>", ">", true],
    [">", "foo.>", false],
    [">", ">", true],
    ["*", ">", true],
    [">", "*", false],
    ["foo", "foo.>", false],
    ["foo.bar.baz", "foo.>", true],
    ["foo.*.baz", "foo.>", true],
    ["foo.*.baz", "*.*.baz", true],
    ["*.*.baz", "foo.*.baz", false],
    ["foo.*", "*.*", true],
    ["foo.*", "*.*.*", false],
    ["choria.lifecycle.>", "choria.>", true],
    ["choria.>", "choria.lifecycle.>", false],
    ["a.*.>", "a.>", true],
    ["a.>", "a.*.>", false],
  ];
  for (const [sub, pattern, expected] of table) {
    test(`${sub} ⊂ ${pattern}`, () => assert.equal(isSubsetOf(sub, pattern), expected));
  }

  test("subset implies intersection for every pair in the table", () => {
    for (const [sub, pattern, expected] of table) {
      if (expected) assert.equal(subjectsIntersect(sub, pattern), true, `${sub} ⊂ ${pattern}`);
    }
  });
});

describe("relations agree with brute force over a small universe", () => {
  const tokens = ["a", "b", "*", ">"];
  const patterns: string[] = [];
  const build = (prefix: string[], depth: number): void => {
    if (prefix.length > 0) {
      const s = prefix.join(".");
      if (isValidSubject(s)) patterns.push(s);
    }
    if (depth === 0) return;
    for (const t of tokens) build([...prefix, t], depth - 1);
  };
  build([], 3);
  // Literals over {a, b, c} up to 4 tokens; "c" stands for "any other token".
  const literals: string[] = [];
  const buildLit = (prefix: string[], depth: number): void => {
    if (prefix.length > 0) literals.push(prefix.join("."));
    if (depth === 0) return;
    for (const t of ["a", "b", "c"]) buildLit([...prefix, t], depth - 1);
  };
  buildLit([], 4);
  const matched = new Map(patterns.map((p) => [p, literals.filter((l) => subjectMatches(p, l))]));

  test("subjectsIntersect(a, b) iff some literal matches both", () => {
    for (const a of patterns) {
      for (const b of patterns) {
        const mb = new Set(matched.get(b));
        const brute = matched.get(a)!.some((l) => mb.has(l));
        assert.equal(subjectsIntersect(a, b), brute, `${a} ∩ ${b}`);
      }
    }
  });

  test("isSubsetOf(a, b) iff every literal of a matches b", () => {
    for (const a of patterns) {
      for (const b of patterns) {
        const brute = matched.get(a)!.every((l) => subjectMatches(b, l));
        assert.equal(isSubsetOf(a, b), brute, `${a} ⊂ ${b}`);
      }
    }
  });
});
