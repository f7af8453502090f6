/**
 * The broker.conf line format (config/parse.ts): key = value split at the
 * first `=`, trimming, comments, line numbers, lines without `=` and repeated
 * keys.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBrokerConf } from "../../../src/config/parse.js";

test("splits at the first = and trims both sides, keeping line numbers", () => {
  const p = parseBrokerConf("# comment\n\n  a.b = c = d  \n\t# indented comment\nempty =\nx=1\n", "t.conf");
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.warnings, []);
  assert.deepEqual([...p.entries.values()], [
    { key: "a.b", value: "c = d", line: 3 },
    { key: "empty", value: "", line: 5 },
    { key: "x", value: "1", line: 6 },
  ]);
});

test("CRLF line ends and a byte order mark are tolerated", () => {
  const p = parseBrokerConf("\uFEFFloglevel = debug\r\nidentity = gw1\r\n", "t.conf");
  assert.equal(p.entries.get("loglevel")?.value, "debug");
  assert.equal(p.entries.get("identity")?.value, "gw1");
  assert.equal(p.entries.get("identity")?.line, 2);
});

test("a value after # on a key line is part of the value (Choria has no inline comments)", () => {
  const p = parseBrokerConf("identity = gw # not a comment\n", "t.conf");
  assert.equal(p.entries.get("identity")?.value, "gw # not a comment");
});

test("a line without = is an error naming file and line; parsing goes on", () => {
  const p = parseBrokerConf("identity = a\nthis is not a setting\n= value only\nloglevel = info\n", "/etc/b.conf");
  assert.equal(p.errors.length, 2);
  assert.equal(p.errors[0]!.code, "GW_ERR_CONFIG");
  assert.equal(p.errors[0]!.file, "/etc/b.conf");
  assert.equal(p.errors[0]!.line, 2);
  assert.match(p.errors[0]!.message, /^\/etc\/b\.conf:2: .*this is not a setting/);
  assert.equal(p.errors[1]!.line, 3);
  assert.equal(p.entries.get("loglevel")?.value, "info");
});

test("a repeated key: the last value wins, with a warning naming both lines", () => {
  const p = parseBrokerConf("loglevel = info\nidentity = x\nloglevel = debug\n", "t.conf");
  assert.equal(p.entries.get("loglevel")?.value, "debug");
  assert.equal(p.entries.get("loglevel")?.line, 3);
  assert.equal(p.warnings.length, 1);
  const w = p.warnings[0]!;
  assert.equal(w.key, "loglevel");
  assert.equal(w.line, 3);
  assert.equal(w.file, "t.conf");
  assert.match(w.message, /line 1/);
  assert.match(w.message, /line 3/);
});
