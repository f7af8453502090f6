/**
 * The audit log under attack: a violation flood from one caller stays within
 * the per-key rate and is summarised as `suppressed N similar events` with a
 * counter, other callers' events still get through, the tracked keys are
 * bounded, and the audit file never blocks or buffers without bound when the
 * file is stuck (a FIFO nobody reads) or the disk is full (/dev/full).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditFileSink, createAuditLog } from "../../../src/obs/audit.js";
import { createLogger, LevelControl, MemorySink } from "../../../src/obs/log.js";
import { CloseReasons } from "../../../src/conn/close_reason.js";
import { connWorld, settle } from "../../helpers/conn.js";

/** coreutils' mkfifo: Node has no API that makes a FIFO. */
const MKFIFO = "mkfifo";

function limited(opts: Parameters<typeof createAuditLog>[1] = {}) {
  const sink = new MemorySink();
  let now = 1_000_000;
  const audit = createAuditLog(createLogger(sink, new LevelControl("info")), { now: () => now, ...opts });
  return { sink, audit, advance: (ms: number) => (now += ms) };
}

const violation = (callerId: string, i: number) => ({ cid: 1, remote: "10.0.0.1", callerId, kind: "publish" as const, subject: `x.${i}` });

describe("audit rate limit", () => {
  test("a flood from one caller: perKey lines per window, one summary line, a counter", () => {
    const { sink, audit, advance } = limited({ perKey: 10 });
    for (let i = 0; i < 10_000; i++) audit.violation(violation("mallory", i));
    audit.violation(violation("alice", 1));
    assert.equal(sink.lines.length, 11, "10 of mallory's, then alice's");
    assert.equal(audit.suppressed, 9_990);
    advance(1000);
    audit.sweep();
    const summaries = sink.records().filter((r) => r.audit === "suppressed");
    assert.equal(summaries.length, 1);
    assert.equal(summaries[0]!.msg, "suppressed 9990 similar events");
    assert.equal(summaries[0]!.callerId, "mallory");
    assert.equal(summaries[0]!.kind, "publish");
    // the next window lets events through again
    audit.violation(violation("mallory", 1));
    assert.equal(sink.records().at(-1)!.audit, "violation");
    audit.close();
  });

  test("keys are per caller and reason, and bounded in number", () => {
    const { sink, audit, advance } = limited({ perKey: 2, maxKeys: 100 });
    audit.violation({ ...violation("a", 1), kind: "subscribe" });
    audit.violation({ ...violation("a", 1), kind: "subscribe" });
    audit.violation({ ...violation("a", 1), kind: "reply" });
    assert.equal(sink.lines.length, 3, "another reason is another key");
    for (let i = 0; i < 50_000; i++) audit.violation(violation(`caller-${i}`, i));
    // at most maxKeys keys with perKey lines each, plus the shared overflow bucket
    assert.ok(sink.lines.length <= 100 * 2 + 2, String(sink.lines.length));
    advance(1000);
    audit.close();
    const overflow = sink.records().filter((r) => r.audit === "suppressed" && r.overflow === true);
    assert.equal(overflow.length, 1);
  });

  test("audit output stays within its rate under a violation flood through connections", async () => {
    const w = connWorld();
    const sink = new MemorySink();
    const audit = createAuditLog(createLogger(sink, new LevelControl("info")), { perKey: 10 });
    w.ctx.audit = audit;
    const attackers = [];
    for (let c = 0; c < 5; c++) attackers.push(await w.login("mallory", {}));
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < 2500) {
      for (const a of attackers) {
        let batch = "";
        for (let i = 0; i < 200; i++) batch += `PUB denied.${sent++} 0\r\n\r\nSUB denied.${sent} ${sent}\r\n`;
        a.t.send(batch);
        a.t.take();
      }
      await settle();
    }
    const seconds = (Date.now() - started) / 1000;
    audit.close();
    const lines = sink.records();
    const violations = lines.filter((r) => r.audit === "violation").length;
    const summaries = lines.filter((r) => r.audit === "suppressed");
    const perSecond = lines.length / seconds;
    console.log(`[figures] audit under attack: ${sent * 2} violations in ${seconds.toFixed(1)} s -> ${lines.length} audit lines (${perSecond.toFixed(1)}/s), ${audit.suppressed} suppressed`);
    // two keys (publish, subscribe) x 10 per started window, plus the connects and one summary per key and window
    const windows = Math.ceil(seconds) + 1;
    assert.ok(violations <= 2 * 10 * windows, `${violations} violation lines`);
    assert.ok(summaries.length <= 2 * windows && summaries.length >= 2, `${summaries.length} summaries`);
    const summed = summaries.reduce((n, r) => n + Number(r.suppressed), 0);
    assert.equal(summed + violations, sent * 2, "every violation is either written or counted in a summary");
    assert.equal(audit.suppressed, summed);
    for (const a of attackers) a.conn.close(CloseReasons.ClientClosed);
  });
});

describe("audit file sink", () => {
  test("a stuck file (a FIFO nobody reads) neither blocks nor buffers without bound", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aaa-audit-"));
    const fifo = join(dir, "audit.fifo");
    execFileSync(MKFIFO, [fifo]);
    const errors: Error[] = [];
    const sink = new AuditFileSink(fifo, { maxBufferedBytes: 256 * 1024, onError: (e) => errors.push(e) });
    const line = JSON.stringify({ audit: "violation", subject: "x".repeat(300) }) + "\n";
    const started = Date.now();
    for (let i = 0; i < 20_000; i++) sink.write(line);
    const tookMs = Date.now() - started;
    assert.ok(sink.bufferedBytes <= 256 * 1024, String(sink.bufferedBytes));
    assert.ok(sink.dropped > 0, "lines beyond the bound are dropped and counted");
    console.log(`[figures] 20000 audit lines into a stuck file: ${tookMs} ms, ${sink.dropped} dropped, ${sink.bufferedBytes} bytes held`);
    // release the pending open so the test can end
    const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    await new Promise((r) => setTimeout(r, 50));
    closeSync(rd);
    sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a full disk (/dev/full) is reported once and lines are dropped, nothing thrown", async () => {
    const errors: Error[] = [];
    const sink = new AuditFileSink("/dev/full", { onError: (e) => errors.push(e) });
    for (let i = 0; i < 1000; i++) sink.write("line\n");
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 1000; i++) sink.write("line\n");
    assert.ok(errors.length >= 1);
    assert.match(errors[0]!.message, /ENOSPC/);
    assert.ok(sink.dropped >= 1000, String(sink.dropped));
    sink.close();
  });
});
