import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuditLog } from "../../../src/obs/audit.js";
import { createLogger, fileSink, LevelControl, MemorySink } from "../../../src/obs/log.js";

function audited() {
  const sink = new MemorySink();
  const audit = createAuditLog(createLogger(sink, new LevelControl("info"), { component: "audit" }));
  return { sink, audit };
}

describe("audit log", () => {
  test("connect names the caller, method, expiry and transport", () => {
    const { sink, audit } = audited();
    audit.connect({ cid: 7, remote: "10.0.0.5:5123", callerId: "choria=alice", method: "aaa-jwt", expiresAt: new Date(Date.UTC(2030, 0, 2)), transport: "tls" });
    assert.equal(sink.lines.length, 1);
    assert.ok(sink.lines[0]!.endsWith("\n"));
    const r = sink.records()[0]!;
    assert.equal(r.audit, "connect");
    assert.equal(r.level, "info");
    assert.equal(r.component, "audit");
    assert.equal(typeof r.time, "string");
    for (const [k, v] of Object.entries({ cid: 7, remote: "10.0.0.5:5123", callerId: "choria=alice", method: "aaa-jwt", expiresAt: "2030-01-02T00:00:00.000Z", transport: "tls" })) {
      assert.equal(r[k], v, k);
    }
  });

  const expiries: Array<[Date | string | null, string | null]> = [
    ["2031-05-06T07:08:09.000Z", "2031-05-06T07:08:09.000Z"],
    [null, null],
    [new Date(Number.NaN), null],
  ];
  for (const [given, want] of expiries) {
    test(`connect expiresAt ${String(given)} is written as ${String(want)}`, () => {
      const { sink, audit } = audited();
      audit.connect({ cid: 1, remote: "r", callerId: "c", method: "development", expiresAt: given, transport: "websocket" });
      assert.equal(sink.records()[0]!.expiresAt, want);
    });
  }

  test("refused records the reason and code, caller id null when unknown", () => {
    const { sink, audit } = audited();
    audit.refused({ cid: 8, remote: "10.0.0.6:1", reason: "token expired at 2020-01-01", code: "GW_ERR_AUTH_EXPIRED", callerId: "choria=bob" });
    audit.refused({ cid: 9, remote: "10.0.0.6:2", reason: "no token", code: "GW_ERR_AUTH_MISSING" });
    const [a, b] = sink.records();
    assert.deepEqual(
      { audit: a!.audit, level: a!.level, cid: a!.cid, remote: a!.remote, callerId: a!.callerId, reason: a!.reason, code: a!.code },
      { audit: "refused", level: "warn", cid: 8, remote: "10.0.0.6:1", callerId: "choria=bob", reason: "token expired at 2020-01-01", code: "GW_ERR_AUTH_EXPIRED" },
    );
    assert.equal(b!.callerId, null);
    assert.equal(b!.code, "GW_ERR_AUTH_MISSING");
  });

  const violations = [
    { kind: "publish", subject: "choria.lifecycle.event.x", queue: undefined },
    { kind: "subscribe", subject: "choria.reply.deadbeef.>", queue: "q1" },
    { kind: "reply", subject: "choria.reply.other.1", queue: undefined },
  ] as const;
  for (const v of violations) {
    test(`violation of kind ${v.kind}`, () => {
      const { sink, audit } = audited();
      audit.violation({ cid: 3, remote: "r:1", callerId: "choria=eve", kind: v.kind, subject: v.subject, ...(v.queue ? { queue: v.queue } : {}) });
      const r = sink.records()[0]!;
      assert.equal(r.audit, "violation");
      assert.equal(r.level, "warn");
      assert.equal(r.kind, v.kind);
      assert.equal(r.subject, v.subject);
      assert.equal(r.callerId, "choria=eve");
      assert.equal(r.cid, 3);
      if (v.queue) assert.equal(r.queue, v.queue);
      else assert.ok(!("queue" in r));
    });
  }

  test("disconnect records the reason, counts and duration", () => {
    const { sink, audit } = audited();
    audit.disconnect({ cid: 4, remote: "r:2", callerId: null, reason: "SlowConsumer", inMsgs: 10, outMsgs: 20, durationMs: 1234 });
    const r = sink.records()[0]!;
    for (const [k, v] of Object.entries({ audit: "disconnect", level: "info", cid: 4, remote: "r:2", callerId: null, reason: "SlowConsumer", inMsgs: 10, outMsgs: 20, durationMs: 1234 })) {
      assert.equal(r[k], v, k);
    }
  });

  test("audit lines go to the logger's own file", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "audit-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "audit.log");
    const sink = fileSink(path);
    const audit = createAuditLog(createLogger(sink, new LevelControl("info")));
    audit.connect({ cid: 1, remote: "r", callerId: "choria=a", method: "aaa-jwt", expiresAt: null, transport: "tls" });
    audit.disconnect({ cid: 1, remote: "r", callerId: "choria=a", reason: "ClientClosed", inMsgs: 0, outMsgs: 0, durationMs: 5 });
    await new Promise<void>((resolve) => {
      sink.close();
      // fileSink.close() ends the stream; poll for the flushed content rather than sleeping.
      const deadline = Date.now() + 10_000;
      const poll = (): void => {
        let text = "";
        try { text = readFileSync(path, "utf8"); } catch { /* not created yet */ }
        if (text.split("\n").filter(Boolean).length >= 2 || Date.now() > deadline) resolve();
        else setTimeout(poll, 20);
      };
      poll();
    });
    const events = readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { audit: string }).audit);
    assert.deepEqual(events, ["connect", "disconnect"]);
  });
});
