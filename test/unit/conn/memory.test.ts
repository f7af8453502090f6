/**
 * What one attacking connection can pin: many connections each send 2,048
 * distinct denied 4 KB publishes and 2,048 denied 4 KB subscriptions (the
 * attack that used to pin ~20 MiB per connection through unbounded verdict
 * caches). The heap they keep while still open, after a full GC, must stay
 * within the bound stated in docs/isolation.md for refused traffic.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CloseReasons } from "../../../src/conn/close_reason.js";
import type { AuditLog } from "../../../src/obs/audit.js";
import { connWorld, settle } from "../../helpers/conn.js";
import { heapAfterGc } from "../../helpers/heap.js";

/** Bytes one connection may keep after refused traffic (docs/isolation.md). */
const REFUSED_TRAFFIC_BOUND = 64 * 1024;
const CONNECTIONS = 16;
const DISTINCT = 2048;

const quietAudit: AuditLog = { connect() {}, refused() {}, violation() {}, disconnect() {} };

test(`${CONNECTIONS} connections x ${DISTINCT} denied 4 KB publishes and subscriptions stay within the stated bound`, async () => {
  const w = connWorld({ maxControlLine: 8192 });
  w.ctx.audit = quietAudit;
  // The same traffic once before measuring, so code and shared caches are warm.
  const warm = await w.login("warm", { fleet_management: true });
  warm.t.record = false;
  warm.t.send(`PUB ${"w".repeat(4000)}.1 0\r\n\r\n`);
  warm.conn.close(CloseReasons.ClientClosed);

  const pubBefore = w.counters.violations.publish ?? 0;
  const before = heapAfterGc();
  const conns = [];
  for (let c = 0; c < CONNECTIONS; c++) {
    const a = await w.login(`attacker-${c}`, { fleet_management: true });
    a.t.record = false;
    const pad = `${c}.${"x".repeat(4000)}`;
    for (let i = 0; i < DISTINCT; i += 64) {
      let batch = "";
      for (let k = i; k < i + 64; k++) batch += `PUB denied.${pad}.${k} _INBOX.${pad}.${k} 1\r\nx\r\nSUB denied.${pad}.${k} ${k}\r\n`;
      a.t.send(batch);
    }
    conns.push(a);
  }
  await settle();
  const after = heapAfterGc();
  const perConn = Math.max(0, after - before) / CONNECTIONS;
  console.log(`[figures] heap kept per attacking connection: ${Math.round(perConn)} bytes (bound ${REFUSED_TRAFFIC_BOUND})`);
  for (const a of conns) {
    assert.equal(a.conn.subscriptionCount, 0);
    assert.ok(a.conn.identity!.policy.cachedVerdicts <= 2 * 128);
  }
  assert.equal((w.counters.violations.publish ?? 0) - pubBefore, CONNECTIONS * DISTINCT);
  assert.equal(w.counters.violations.subscribe, CONNECTIONS * DISTINCT);
  assert.ok(perConn <= REFUSED_TRAFFIC_BOUND, `${Math.round(perConn)} bytes per connection`);
  for (const a of conns) a.conn.close(CloseReasons.ClientClosed);
});
