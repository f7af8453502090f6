/**
 * How nats-server prints durations (rtt) and uptimes (uptime, idle), and the
 * SubDetail shape: table tests plus properties over the whole range.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { goDuration, natsUptime, subDetail } from "../../../src/obs/nats_json.js";

describe("nats-server's printing", () => {
  test("goDuration prints round trips as Go's time.Duration does", () => {
    assert.equal(goDuration(12), "12ms");
    assert.equal(goDuration(1.5), "1.5ms");
    assert.equal(goDuration(0.25), "250µs");
    assert.equal(goDuration(1500), "1.5s");
    assert.equal(goDuration(0), "0s");
    fc.assert(fc.property(fc.double({ min: 0, max: 1e7, noNaN: true }), (ms) => /^\d+(\.\d+)?(µs|ms|s)$/.test(goDuration(ms))));
  });

  const uptimes: Array<[number, string]> = [
    [0, "0s"], [-5, "0s"], [NaN, "0s"], [999, "0s"], [1000, "1s"], [59_999, "59s"], [60_000, "1m0s"], [3_723_000, "1h2m3s"],
    [86_400_000, "1d0h0m0s"], [365 * 86_400_000, "1y0d0h0m0s"], [(366 * 86_400 + 3661) * 1000, "1y1d1h1m1s"],
  ];
  for (const [ms, text] of uptimes) {
    test(`natsUptime(${ms}) is ${text}`, () => assert.equal(natsUptime(ms), text));
  }

  test("natsUptime reads back to the whole seconds it was given", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2e12 }), (ms) => {
      const m = /^(?:(\d+)y)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(\d+)s$/.exec(natsUptime(ms));
      assert.ok(m, natsUptime(ms));
      const [y, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number];
      assert.equal(((((y * 365 + d) * 24 + h) * 60 + mi) * 60 + s), Math.floor(ms / 1000));
    }));
  });

  test("subDetail leaves out an empty queue and an unset max", () => {
    assert.deepEqual(subDetail({ subject: "a.b", sid: "1", cid: 3, msgs: 2, max: 0 }), { subject: "a.b", qgroup: undefined, sid: "1", msgs: 2, max: undefined, cid: 3 });
    assert.deepEqual(JSON.parse(JSON.stringify(subDetail({ subject: "a.b", queue: "q", sid: "1", cid: 3, msgs: 2, max: 9 }))), { subject: "a.b", qgroup: "q", sid: "1", msgs: 2, max: 9, cid: 3 });
  });
});
