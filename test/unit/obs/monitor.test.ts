import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { createLogger, LevelControl, MemorySink } from "../../../src/obs/log.js";
import { createMetrics, type MetricSources } from "../../../src/obs/metrics.js";
import { startMonitor } from "../../../src/obs/monitor.js";
import { GatewayError } from "../../../src/errors.js";
import { connzEntry, fakeSources, fakeState, parseSamples, sampleValue, type FakeState } from "./fixture.js";

const info = { server_id: "NTESTID", server_name: "gw1", version: "0.1.0", start: "2024-01-01T00:00:00.000Z", uptime: "1s" };

async function startFor(t: TestContext, state: FakeState = fakeState(), sources: MetricSources = fakeSources(state)) {
  const sink = new MemorySink();
  const log = createLogger(sink, new LevelControl("debug"));
  const metrics = createMetrics(sources, { identity: "gw1", defaultMetrics: false });
  const mon = await startMonitor({ host: "127.0.0.1", port: 0, registry: metrics.registry, sources, log, info: () => info });
  t.after(() => mon.close());
  const base = `http://127.0.0.1:${mon.port}`;
  return { state, sink, mon, base };
}

/** Sends raw bytes and returns the whole response (the server closes after it). */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    sock.on("data", (c) => chunks.push(c));
    sock.on("error", reject);
    sock.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    sock.write(request);
  });
}

describe("monitor endpoints", () => {
  test("/healthz answers ok", async (t) => {
    const { base } = await startFor(t);
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await res.json(), { status: "ok" });
  });

  for (const path of ["/metrics", "/choria/prometheus"]) {
    test(`${path} serves Prometheus text from the sources`, async (t) => {
      const { base, state } = await startFor(t);
      let res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      assert.equal(sampleValue(parseSamples(await res.text()), "choria_network_connections"), 3);
      state.connections = 42;
      res = await fetch(`${base}${path}`);
      assert.equal(sampleValue(parseSamples(await res.text()), "choria_network_connections"), 42);
    });
  }

  test("/readyz follows readiness and names the reason", async (t) => {
    const { base, state } = await startFor(t);
    let res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ok" });

    state.ready = false;
    state.readyReason = "upstream not connected";
    res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: "unavailable", reason: "upstream not connected" });

    state.ready = true;
    res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });

  test("/varz has the server info and the counters", async (t) => {
    const { base } = await startFor(t);
    const res = await fetch(`${base}/varz`);
    assert.equal(res.status, 200);
    const v = (await res.json()) as Record<string, unknown>;
    assert.equal(v.server_id, "NTESTID");
    assert.equal(v.version, "0.1.0");
    assert.equal(typeof v.now, "string");
    assert.equal(typeof v.mem, "number");
    for (const [k, want] of Object.entries({
      connections: 3, total_connections: 17, in_msgs: 101, out_msgs: 202, in_bytes: 3003, out_bytes: 4004,
      slow_consumers: 1, subscriptions: 9, leafnodes: 1, routes: 0, remotes: 0, ready: true,
    })) assert.equal(v[k], want, k);
    assert.deepEqual((v.leafnode as Record<string, unknown>).reconnects, 2);
    assert.deepEqual(v.auth, { ok: 15, GW_ERR_AUTH_EXPIRED: 2 });
  });
});

describe("/connz", () => {
  const withConns = (): FakeState => {
    const s = fakeState();
    s.connz = [connzEntry(3), connzEntry(1), connzEntry(5), connzEntry(2), connzEntry(4)];
    return s;
  };

  test("lists connections sorted by cid without subjects", async (t) => {
    const { base } = await startFor(t, withConns());
    const res = await fetch(`${base}/connz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { now: string; num_connections: number; total: number; connections: Array<Record<string, unknown>> };
    assert.ok(!Number.isNaN(Date.parse(body.now)));
    assert.equal(body.num_connections, 5);
    assert.equal(body.total, 5);
    assert.deepEqual(body.connections.map((c) => c.cid), [1, 2, 3, 4, 5]);
    const first = body.connections[0]!;
    assert.equal(first.callerId, "choria=user1");
    assert.equal(first.remote, "127.0.0.1:40001");
    assert.equal(first.tokenExpiresAt, "2024-01-02T00:00:00.000Z");
    assert.ok(!("subjects" in first));
  });

  const pages: Array<[string, number[], boolean]> = [
    ["?limit=2", [1, 2], false],
    ["?limit=2&offset=2", [3, 4], false],
    ["?offset=4", [5], false],
    ["?offset=10", [], false],
    ["?limit=0", [], false],
    ["?subs=1&limit=1", [1], true],
    ["?subs=true&offset=1&limit=1", [2], true],
    ["?subs=0", [1, 2, 3, 4, 5], false],
    // Bad values fall back to the defaults.
    ["?limit=abc&offset=-3", [1, 2, 3, 4, 5], false],
    ["?limit=99999999999999999999&offset=1.5", [1, 2, 3, 4, 5], false],
    ["?limit=%ZZ&offset=%&&=&subs", [1, 2, 3, 4, 5], false],
    ["?limit=2&limit=1", [1, 2], false],
  ];
  for (const [query, cids, subs] of pages) {
    test(`paging ${query}`, async (t) => {
      const { base } = await startFor(t, withConns());
      const res = await fetch(`${base}/connz${query}`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { num_connections: number; total: number; connections: Array<{ cid: number; subjects?: string[] }> };
      assert.deepEqual(body.connections.map((c) => c.cid), cids);
      assert.equal(body.num_connections, cids.length);
      assert.equal(body.total, 5);
      for (const c of body.connections) {
        if (subs) assert.deepEqual(c.subjects, [`choria.reply.${c.cid}.>`, "_INBOX.>"]);
        else assert.equal(c.subjects, undefined);
      }
    });
  }

  test("subs=1 gives an empty list for a connection without subjects", async (t) => {
    const s = fakeState();
    s.connz = [connzEntry(1, { subjects: undefined })];
    const { base } = await startFor(t, s);
    const body = (await (await fetch(`${base}/connz?subs=1`)).json()) as { connections: Array<{ subjects?: string[] }> };
    assert.deepEqual(body.connections[0]!.subjects, []);
  });
});

describe("monitor refusals and failures", () => {
  const notFound = ["/", "/nope", "/metrics/extra", "/METRICS", "//metrics", "/connz/1"];
  for (const path of notFound) {
    test(`404 for ${path}`, async (t) => {
      const { mon } = await startFor(t);
      const res = await rawRequest(mon.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.match(res, /^HTTP\/1\.1 404 /);
    });
  }

  for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
    test(`405 for ${method} /metrics`, async (t) => {
      const { base } = await startFor(t);
      const res = await fetch(`${base}/metrics`, { method });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), "GET, HEAD");
      await res.arrayBuffer();
    });
  }

  test("HEAD answers with headers and no body", async (t) => {
    const { mon } = await startFor(t);
    const res = await rawRequest(mon.port, "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(res, /^HTTP\/1\.1 200 /);
    // The GET body is `{\n  "status": "ok"\n}\n`, 21 bytes.
    assert.match(res, /\r\nContent-Length: 21\r\n/i);
    assert.ok(res.endsWith("\r\n\r\n"), "no body after the headers");
  });

  test("a raw request with junk in the query is answered", async (t) => {
    const { mon } = await startFor(t);
    const res = await rawRequest(mon.port, "GET /connz?limit=%E0%A4%A&offset=%%&subs=%FF&%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(res, /^HTTP\/1\.1 200 /);
    assert.match(res, /"num_connections": 0/);
  });

  test("a request line the HTTP parser refuses gets 400 and the monitor keeps serving", async (t) => {
    const { mon, base } = await startFor(t);
    const res = await rawRequest(mon.port, "GET /connz?x=\x7f HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(res, /^HTTP\/1\.1 400 /);
    const ok = await fetch(`${base}/healthz`);
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
  });

  test("a failing source gives 500 and a log line, and the monitor keeps serving", async (t) => {
    const state = fakeState();
    const sources: MetricSources = { ...fakeSources(state), connz: () => { throw new Error("boom"); } };
    const { base, sink } = await startFor(t, state, sources);
    const res = await fetch(`${base}/connz`);
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { error: "internal error" });
    assert.ok(sink.records().some((r) => r.msg === "monitor request failed" && r.error === "boom"));
    const ok = await fetch(`${base}/healthz`);
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
  });

  test("a failing readiness check reads as not ready", async (t) => {
    const state = fakeState();
    const sources: MetricSources = { ...fakeSources(state), ready: () => { throw new Error("no"); } };
    const { base } = await startFor(t, state, sources);
    const res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { status: string }).status, "unavailable");
  });

  test("a port in use is a typed error", async (t) => {
    const { mon } = await startFor(t);
    const state = fakeState();
    const sources = fakeSources(state);
    const registry = createMetrics(sources, { defaultMetrics: false }).registry;
    await assert.rejects(
      startMonitor({ host: "127.0.0.1", port: mon.port, registry, sources, log: createLogger(new MemorySink(), new LevelControl("error")), info: () => info }),
      (err: unknown) => err instanceof GatewayError && err.code === "GW_ERR_MONITOR_LISTEN",
    );
  });

  test("close() finishes with a keep-alive connection open", async (t) => {
    const { base, mon } = await startFor(t);
    const res = await fetch(`${base}/healthz`, { headers: { connection: "keep-alive" } });
    await res.arrayBuffer();
    await mon.close();
    await assert.rejects(fetch(`${base}/healthz`));
  });
});
