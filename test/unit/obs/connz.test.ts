/**
 * /connz in nats-server's shape, over a fake MetricSources through the real
 * monitor: the ConnInfo fields, every sort option in nats-server's direction,
 * state=open|closed|all, cid and user filters, auth, subs=1 and subs=detail,
 * paging, and nats-server's refusals (400 with its text).
 */
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { createLogger, LevelControl, MemorySink } from "../../../src/obs/log.js";
import { createMetrics, type ConnzEntry } from "../../../src/obs/metrics.js";
import { startMonitor } from "../../../src/obs/monitor.js";
import { connzEntry, fakeSources, fakeState, type FakeState } from "./fixture.js";

type Json = Record<string, unknown>;
type Page = { server_id: string; now: string; num_connections: number; total: number; offset: number; limit: number; connections: Json[] };

const about = {
  serverId: "NCONNZ", serverName: "gw1", identity: "gw1", version: "0.1.0", sha: "", configFile: "", maxConnections: 0, startedAt: new Date(),
};

async function monitorFor(t: TestContext, state: FakeState): Promise<string> {
  const sources = fakeSources(state);
  const log = createLogger(new MemorySink(), new LevelControl("error"));
  const metrics = createMetrics(sources, { identity: "gw1", defaultMetrics: false });
  const mon = await startMonitor({ host: "127.0.0.1", port: 0, registry: metrics.registry, sources, log, info: () => ({}), about: () => about });
  t.after(() => mon.close());
  return `http://127.0.0.1:${mon.port}`;
}

async function page(base: string, query = ""): Promise<Page> {
  const res = await fetch(`${base}/connz${query}`);
  assert.equal(res.status, 200, `/connz${query}`);
  return (await res.json()) as Page;
}

const cids = (p: Page): unknown[] => p.connections.map((c) => c.cid);

/** Five open connections, listed out of order. */
function fiveOpen(): FakeState {
  const s = fakeState();
  s.connz = [connzEntry(3), connzEntry(1), connzEntry(5), connzEntry(2), connzEntry(4)];
  return s;
}

describe("/connz fields", () => {
  test("the page and each connection carry nats-server's keys", async (t) => {
    const s = fakeState();
    const now = Date.now();
    s.connz = [connzEntry(7, { transport: "websocket", start: now - 3_723_000, lastActivity: now - 61_000, rttMs: 0.25, name: "n", lang: "nats.js", version: "3.0.0" })];
    const p = await page(await monitorFor(t, s));
    assert.deepEqual(Object.keys(p), ["server_id", "now", "num_connections", "total", "offset", "limit", "connections"]);
    assert.equal(p.server_id, "NCONNZ");
    const c = p.connections[0]!;
    assert.deepEqual(Object.keys(c), [
      "cid", "kind", "type", "ip", "port", "start", "last_activity", "rtt", "uptime", "idle", "pending_bytes",
      "in_msgs", "out_msgs", "in_bytes", "out_bytes", "subscriptions", "name", "lang", "version", "auth_method", "token_expires",
    ]);
    assert.equal(c.kind, "Client");
    assert.equal(c.type, "websocket");
    assert.equal(c.ip, "127.0.0.1");
    assert.equal(c.port, 40007);
    assert.equal(c.start, new Date(now - 3_723_000).toISOString());
    assert.equal(c.rtt, "250µs");
    // 1h2m3s up, idle a minute and a second (whole seconds, as nats-server prints them).
    assert.match(String(c.uptime), /^1h2m(3|4)s$/);
    assert.match(String(c.idle), /^1m(1|2)s$/);
    assert.equal(c.token_expires, "2024-01-02T00:00:00.000Z");
  });

  test("a TLS client is type nats; a closed one has stop and reason, and its uptime and idle stop at the close", async (t) => {
    const s = fakeState();
    const start = Date.UTC(2024, 0, 1);
    s.closedConnz = [connzEntry(9, { start, lastActivity: start + 5_000, stop: start + 65_000, reason: "Client Closed" })];
    const c = (await page(await monitorFor(t, s), "?state=closed")).connections[0]!;
    assert.equal(c.type, "nats");
    assert.equal(c.stop, new Date(start + 65_000).toISOString());
    assert.equal(c.reason, "Client Closed");
    assert.equal(c.uptime, "1m5s");
    assert.equal(c.idle, "1m0s");
  });

  test("auth=1 adds authorized_user (the caller id); without it the caller is not shown", async (t) => {
    const base = await monitorFor(t, fiveOpen());
    assert.equal((await page(base)).connections[0]!.authorized_user, undefined);
    assert.equal((await page(base, "?auth=1")).connections[0]!.authorized_user, "choria=user1");
    assert.equal((await page(base, "?auth=true")).connections[0]!.authorized_user, "choria=user1");
  });

  test("subs=1 lists subjects, subs=detail lists SubDetail, neither is there without subscriptions", async (t) => {
    const s = fiveOpen();
    s.connz.push(connzEntry(6, { subscriptions: 0, subs: [] }));
    const base = await monitorFor(t, s);
    const plain = (await page(base)).connections[0]!;
    assert.equal(plain.subscriptions_list, undefined);
    assert.equal(plain.subscriptions_list_detail, undefined);
    const listed = await page(base, "?subs=1");
    assert.deepEqual(listed.connections[0]!.subscriptions_list, ["choria.reply.1.>", "_INBOX.>"]);
    assert.equal(listed.connections[0]!.subscriptions_list_detail, undefined);
    assert.equal(listed.connections[5]!.subscriptions_list, undefined, "omitted when empty, as nats-server does");
    const detail = await page(base, "?subs=DETAIL");
    assert.equal(detail.connections[0]!.subscriptions_list, undefined);
    assert.deepEqual(detail.connections[0]!.subscriptions_list_detail, [
      { subject: "choria.reply.1.>", sid: "1", msgs: 1, cid: 1 },
      { subject: "_INBOX.>", qgroup: "q", sid: "2", msgs: 0, max: 5, cid: 1 },
    ]);
  });
});

describe("/connz paging", () => {
  const pages: Array<[string, number[]]> = [
    ["", [1, 2, 3, 4, 5]],
    ["?limit=2", [1, 2]],
    ["?limit=2&offset=2", [3, 4]],
    ["?offset=4", [5]],
    ["?offset=10", []],
    // nats-server: a limit of 0 is the default page size.
    ["?limit=0", [1, 2, 3, 4, 5]],
    ["?subs=1&limit=1", [1]],
    ["?subs=true&offset=1&limit=1", [2]],
    // Bad numbers fall back to the defaults.
    ["?limit=abc&offset=-3", [1, 2, 3, 4, 5]],
    ["?limit=99999999999999999999&offset=1.5", [1, 2, 3, 4, 5]],
    ["?limit=%ZZ&offset=%&&=&subs", [1, 2, 3, 4, 5]],
    ["?limit=2&limit=1", [1, 2]],
  ];
  for (const [query, want] of pages) {
    test(`paging ${query || "(none)"}`, async (t) => {
      const p = await page(await monitorFor(t, fiveOpen()), query);
      assert.deepEqual(cids(p), want);
      assert.equal(p.num_connections, want.length);
      assert.equal(p.total, 5);
    });
  }

  test("offset and limit are echoed; limit 0 reads as 1024", async (t) => {
    const base = await monitorFor(t, fiveOpen());
    const p = await page(base, "?offset=1&limit=3");
    assert.equal(p.offset, 1);
    assert.equal(p.limit, 3);
    assert.equal((await page(base, "?limit=0")).limit, 1024);
  });
});

describe("/connz state, cid and user", () => {
  const mixed = (): FakeState => {
    const s = fiveOpen();
    s.closedConnz = [
      connzEntry(8, { stop: Date.UTC(2024, 0, 2), reason: "Client Closed", callerId: "choria=gone" }),
      connzEntry(6, { stop: Date.UTC(2024, 0, 3), reason: "Authentication Expired" }),
    ];
    return s;
  };

  test("state=open (default) lists open ones, closed the closed ones, all and any both", async (t) => {
    const base = await monitorFor(t, mixed());
    assert.deepEqual(cids(await page(base)), [1, 2, 3, 4, 5]);
    assert.deepEqual(cids(await page(base, "?state=open")), [1, 2, 3, 4, 5]);
    const closed = await page(base, "?state=closed");
    assert.deepEqual(cids(closed), [6, 8]);
    assert.equal(closed.total, 2);
    assert.deepEqual(cids(await page(base, "?state=CLOSED")), [6, 8]);
    for (const q of ["?state=all", "?state=any"]) {
      const all = await page(base, q);
      assert.deepEqual(cids(all), [1, 2, 3, 4, 5, 6, 8]);
      assert.equal(all.total, 7);
    }
  });

  test("cid names one connection, open or closed, as the state allows", async (t) => {
    const base = await monitorFor(t, mixed());
    assert.deepEqual(cids(await page(base, "?cid=3")), [3]);
    assert.equal((await page(base, "?cid=3")).limit, 1);
    assert.deepEqual(cids(await page(base, "?cid=8")), [], "a closed cid is not open");
    assert.deepEqual(cids(await page(base, "?cid=8&state=closed")), [8]);
    assert.deepEqual(cids(await page(base, "?cid=8&state=all")), [8]);
    assert.deepEqual(cids(await page(base, "?cid=99&state=all")), []);
  });

  test("user keeps the connections of that caller", async (t) => {
    const base = await monitorFor(t, mixed());
    assert.deepEqual(cids(await page(base, "?user=choria%3Duser4")), [4]);
    assert.deepEqual(cids(await page(base, "?user=choria%3Dgone&state=all")), [8]);
    assert.deepEqual(cids(await page(base, "?user=nobody")), []);
  });

  const refused: Array<[string, string]> = [
    ["?sort=bogus", "invalid sorting option: bogus"],
    ["?sort=CID", "invalid sorting option: CID"],
    ["?sort=__proto__", "invalid sorting option: __proto__"],
    ["?state=half", "Error decoding state for half"],
    ["?sort=stop", "sort by stop only valid on closed connections"],
    ["?sort=reason&state=all", "sort by reason only valid on closed connections"],
  ];
  for (const [query, text] of refused) {
    test(`${query} is refused with nats-server's text`, async (t) => {
      const res = await fetch(`${await monitorFor(t, mixed())}/connz${query}`);
      assert.equal(res.status, 400);
      assert.equal(await res.text(), text + "\n");
    });
  }
});

/** Each sort option: its field, and whether nats-server sorts it descending. */
const SORTS: Array<[string, (c: ConnzEntry, now: number) => number | string, boolean]> = [
  ["cid", (c) => c.cid, false],
  ["start", (c) => c.start, false],
  ["subs", (c) => c.subscriptions, true],
  ["pending", (c) => c.pendingBytes, true],
  ["msgs_to", (c) => c.outMsgs, true],
  ["msgs_from", (c) => c.inMsgs, true],
  ["bytes_to", (c) => c.outBytes, true],
  ["bytes_from", (c) => c.inBytes, true],
  ["last", (c) => c.lastActivity, true],
  ["idle", (c, now) => now - c.lastActivity, true],
  ["uptime", (c, now) => (c.stop ?? now) - c.start, false],
  ["stop", (c) => c.stop ?? 0, true],
  ["reason", (c) => c.reason ?? "", false],
  ["rtt", (c) => c.rttMs, true],
];

describe("/connz sort", () => {
  // Connections whose every sortable field is drawn at random; cid order is start order, as in nats-server.
  const entries = fc.uniqueArray(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 12 }).chain((ids) =>
    fc.tuple(...ids.map((cid) =>
      fc.record({
        subscriptions: fc.nat(5), pendingBytes: fc.nat(5), inMsgs: fc.nat(5), outMsgs: fc.nat(5), inBytes: fc.nat(5), outBytes: fc.nat(5),
        idleMs: fc.nat(5).map((n) => n * 1000), upMs: fc.nat(5).map((n) => n * 1000 + 10_000), rttMs: fc.nat(5),
        reason: fc.constantFrom("Client Closed", "Stale Connection", "Authentication Expired"),
      }).map((f) => ({ cid, ...f })),
    )));

  test("every option orders by its field in nats-server's direction, ties in cid order", async (t) => {
    const s = fakeState();
    const base = await monitorFor(t, s);
    await fc.assert(fc.asyncProperty(entries, async (drawn) => {
      // Closed entries, so uptime and idle are fixed at the stop time whatever the clock does;
      // cid order is start order (10 s apart, uptimes within 5 s of each other), as nats-server assumes.
      const base0 = Date.now() - 10_000_000;
      s.closedConnz = drawn.map((d) => {
        const stop = base0 + d.cid * 10_000;
        return connzEntry(d.cid, {
          start: stop - d.upMs, stop, lastActivity: stop - d.idleMs,
          subscriptions: d.subscriptions, pendingBytes: d.pendingBytes, inMsgs: d.inMsgs, outMsgs: d.outMsgs, inBytes: d.inBytes, outBytes: d.outBytes,
          rttMs: d.rttMs, reason: d.reason,
        });
      });
      for (const [sort, field, descending] of SORTS) {
        const got = cids(await page(base, `?state=closed&sort=${sort}`));
        const at = Date.now();
        const want = [...s.closedConnz].sort((a, b) => {
          const [x, y] = [field(a, at), field(b, at)];
          const cmp = x < y ? -1 : x > y ? 1 : 0;
          return (descending ? -cmp : cmp) || a.cid - b.cid;
        }).map((c) => c.cid);
        assert.deepEqual(got, want, sort);
      }
    }), { numRuns: 25 });
  });
});
