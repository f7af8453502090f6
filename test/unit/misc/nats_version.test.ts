// The NATS version clients are told: hub version while connected (lowest of
// several), the protocol floor standalone; parsing and ordering of versions.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { NATS_PROTOCOL_VERSION, clientVisibleVersion, compareVersions, parseVersion } from "../../../src/nats_version.js";

describe("nats version", () => {
  test("parse: plain, v-prefixed, pre-release; junk is null", () => {
    assert.deepEqual(parseVersion("2.9.10"), [2, 9, 10]);
    assert.deepEqual(parseVersion("v2.10.0"), [2, 10, 0]);
    assert.deepEqual(parseVersion("2.11.0-RC.3"), [2, 11, 0]);
    for (const bad of ["", "2.9", "x.y.z", "2.9.10.1", "0.1", " "]) assert.equal(parseVersion(bad), null, bad);
  });

  test("compare orders numerically, not as text", () => {
    assert.ok(compareVersions("2.9.10", "2.10.0") < 0);
    assert.ok(compareVersions("2.14.0", "2.9.10") > 0);
    assert.equal(compareVersions("2.9.10", "v2.9.10"), 0);
  });

  test("standalone: the protocol floor, which nats.js accepts for KV and the new consumer API", () => {
    assert.equal(clientVisibleVersion([]), NATS_PROTOCOL_VERSION);
    assert.equal(clientVisibleVersion([undefined]), NATS_PROTOCOL_VERSION);
    assert.equal(clientVisibleVersion(["garbage"]), NATS_PROTOCOL_VERSION);
    assert.ok(compareVersions(NATS_PROTOCOL_VERSION, "2.9.0") >= 0);
  });

  test("connected: the hub's version; the lowest of several hubs", () => {
    assert.equal(clientVisibleVersion(["2.14.1"]), "2.14.1");
    assert.equal(clientVisibleVersion(["2.14.1", undefined, "2.10.3", "2.11.0"]), "2.10.3");
  });

  test("property: the answer is one of the valid inputs and none is lower", () => {
    const ver = fc.tuple(fc.nat(30), fc.nat(30), fc.nat(30)).map(([a, b, c]) => `${a}.${b}.${c}`);
    fc.assert(fc.property(fc.array(fc.option(ver, { nil: undefined })), (vs) => {
      const got = clientVisibleVersion(vs);
      const valid = vs.filter((v): v is string => v !== undefined);
      if (valid.length === 0) return got === NATS_PROTOCOL_VERSION;
      return valid.includes(got) && valid.every((v) => compareVersions(got, v) <= 0);
    }));
  });
});
