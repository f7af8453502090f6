import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { createLogger, LevelControl, MemorySink } from "../../../src/obs/log.js";
import { createMetrics, type MetricSources } from "../../../src/obs/metrics.js";
import { ENDPOINTS, startMonitor } from "../../../src/obs/monitor.js";
import { GatewayError } from "../../../src/errors.js";
import { fakeSources, fakeState, parseSamples, sampleValue, type FakeState } from "./fixture.js";

const info = { server_id: "NTESTID", server_name: "gw1", version: "0.1.0", start: "2024-01-01T00:00:00.000Z", uptime: "1s" };
const about = {
  serverId: "NTESTID", serverName: "gw1", identity: "gw1.example.net", version: "0.1.0", sha: "", configFile: "/etc/aaa-leafnode/broker.conf",
  maxConnections: 5000, startedAt: new Date(Date.now() - 60_000),
};

async function startFor(t: TestContext, state: FakeState = fakeState(), sources: MetricSources = fakeSources(state)) {
  const sink = new MemorySink();
  const log = createLogger(sink, new LevelControl("debug"));
  const metrics = createMetrics(sources, { identity: "gw1", defaultMetrics: false });
  const mon = await startMonitor({ host: "127.0.0.1", port: 0, registry: metrics.registry, sources, log, info: () => info, about: () => about });
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
    assert.deepEqual(await res.json(), { status: "ok", remotes: { hub: "connected" } });

    state.ready = false;
    state.readyReason = "upstream not connected";
    res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: "unavailable", reason: "upstream not connected", remotes: { hub: "connected" } });

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

describe("/leafz (nats-server's Leafz shape)", () => {
  test("one entry per connected link, the gateway as spoke, Go-style rtt", async (t) => {
    const { base } = await startFor(t);
    const res = await fetch(`${base}/leafz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown> & { leafs: Record<string, unknown>[] };
    assert.equal(body.server_id, "NTESTID");
    assert.ok(!Number.isNaN(Date.parse(String(body.now))));
    assert.equal(body.leafnodes, 1);
    assert.deepEqual(body.leafs, [{
      id: 1, name: "hub", is_spoke: true, account: "$G", ip: "hub.example.net", port: 7422, rtt: "12ms",
      in_msgs: 50, out_msgs: 60, in_bytes: 5000, out_bytes: 6000, subscriptions: 2,
    }]);
  });

  test("subs=1 adds the hub's interest; acc filters by account", async (t) => {
    const { base } = await startFor(t);
    const withSubs = (await (await fetch(`${base}/leafz?subs=1`)).json()) as { leafs: { subscriptions_list?: string[] }[] };
    assert.deepEqual(withSubs.leafs[0]!.subscriptions_list, ["choria.broadcast.agent.>", "choria.node.n1 q1"]);
    const other = (await (await fetch(`${base}/leafz?acc=OTHER`)).json()) as { leafnodes: number; leafs: unknown[] };
    assert.equal(other.leafnodes, 0);
    assert.deepEqual(other.leafs, []);
    const same = (await (await fetch(`${base}/leafz?acc=%24G`)).json()) as { leafnodes: number };
    assert.equal(same.leafnodes, 1);
  });

  test("a link that is down is not listed; standalone lists none", async (t) => {
    const s = fakeState();
    const up = s.links[0]!;
    s.links = [{ ...up, remote: "down", connected: false }, { ...up, remote: "up2" }];
    const { base, state } = await startFor(t, s);
    let body = (await (await fetch(`${base}/leafz`)).json()) as { leafnodes: number; leafs: { name: string }[] };
    assert.deepEqual(body.leafs.map((l) => l.name), ["up2"]);
    state.links = [];
    body = (await (await fetch(`${base}/leafz`)).json()) as { leafnodes: number; leafs: { name: string }[] };
    assert.equal(body.leafnodes, 0);
  });
});

describe("/subsz (nats-server's Subsz shape)", () => {
  const withSubs = (): FakeState => {
    const s = fakeState();
    s.subsz = [
      { subject: "choria.reply.abc._INBOX.x", sid: "2", cid: 7, msgs: 3, max: 0 },
      { subject: "choria.node.>", queue: "workers", sid: "1", cid: 7, msgs: 0, max: 10 },
      { subject: "test.a", sid: "9", cid: 2, msgs: 1, max: 0 },
    ];
    return s;
  };

  test("without subs: the count only", async (t) => {
    const { base } = await startFor(t, withSubs());
    const body = (await (await fetch(`${base}/subsz`)).json()) as Record<string, unknown>;
    assert.equal(body.server_id, "NTESTID");
    assert.equal(body.num_subscriptions, 9);
    assert.equal(body.total, 0);
    assert.equal(body.offset, 0);
    assert.equal(body.limit, 1024);
    assert.equal(body.subscriptions_list, undefined);
  });

  test("subs=1: SubDetail entries sorted by cid and sid, paged", async (t) => {
    const { base } = await startFor(t, withSubs());
    const body = (await (await fetch(`${base}/subsz?subs=1`)).json()) as { total: number; subscriptions_list: Record<string, unknown>[] };
    assert.equal(body.total, 3);
    assert.deepEqual(body.subscriptions_list, [
      { subject: "test.a", sid: "9", msgs: 1, cid: 2 },
      { subject: "choria.node.>", qgroup: "workers", sid: "1", msgs: 0, max: 10, cid: 7 },
      { subject: "choria.reply.abc._INBOX.x", sid: "2", msgs: 3, cid: 7 },
    ]);
    const page = (await (await fetch(`${base}/subsz?subs=1&offset=1&limit=1`)).json()) as { total: number; offset: number; limit: number; subscriptions_list: { sid: string }[] };
    assert.deepEqual([page.total, page.offset, page.limit, page.subscriptions_list.map((x) => x.sid)], [3, 1, 1, ["1"]]);
  });

  test("test=<literal subject> keeps the subscriptions a publish to it would reach", async (t) => {
    const { base } = await startFor(t, withSubs());
    const body = (await (await fetch(`${base}/subsz?subs=1&test=choria.node.n1`)).json()) as { total: number; subscriptions_list: { subject: string }[] };
    assert.equal(body.total, 1);
    assert.equal(body.subscriptions_list[0]!.subject, "choria.node.>");
  });

  test("a test subject with wildcards is a 400 with nats-server's text", async (t) => {
    const { base } = await startFor(t, withSubs());
    const res = await fetch(`${base}/subsz?subs=1&test=choria.*`);
    assert.equal(res.status, 400);
    assert.equal((await res.text()).trim(), "invalid test subject, must be valid publish subject: choria.*");
  });
});

describe("Choria's endpoints", () => {
  test("/choria/ has Choria's build and system index", async (t) => {
    const { base } = await startFor(t);
    const res = await fetch(`${base}/choria/`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { build: Record<string, unknown>; system: Record<string, unknown>; config_file: string; identity: string };
    assert.equal(body.identity, "gw1.example.net");
    assert.equal(body.config_file, "/etc/aaa-leafnode/broker.conf");
    assert.equal(body.build.version, "0.1.0");
    assert.equal(body.build.max_broker_clients, 5000);
    assert.equal(body.build.tls, true);
    assert.deepEqual(Object.keys(body.build).sort(), ["build_date", "go", "license", "max_broker_clients", "node", "secure", "sha", "tls", "version"]);
    assert.ok(typeof body.system.rss === "number" && body.system.rss > 0);
    assert.ok(typeof body.system.cpu_percent === "number" && body.system.cpu_percent >= 0);
    assert.ok(typeof body.system.cpu_cores === "number" && body.system.cpu_cores >= 1);
  });

  test("/choria/metrics serves the same Prometheus text as /choria/prometheus", async (t) => {
    const { base } = await startFor(t);
    for (const path of ["/choria/metrics", "/choria/prometheus"]) {
      const samples = parseSamples(await (await fetch(`${base}${path}`)).text());
      assert.equal(sampleValue(samples, "choria_network_connections"), 3, path);
      assert.equal(sampleValue(samples, "choria_network_leafnode_subscriptions"), 2, path);
    }
  });
});

describe("status page at /", () => {
  test("name, version, link state, counts and a link to every endpoint", async (t) => {
    const s = fakeState();
    s.authOutcomes = { ok: 15, GW_ERR_AUTH_EXPIRED: 2, GW_ERR_AUTH_BAD_SIGNATURE: 3 };
    s.links = [s.links[0]!, { ...s.links[0]!, remote: "backup", connected: false, host: undefined, port: undefined }];
    const { base } = await startFor(t, s);
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    const html = await res.text();
    assert.match(html, /<span id="name">gw1<\/span>/);
    assert.match(html, /<span id="version">0\.1\.0<\/span>/);
    assert.match(html, /<tr data-remote="hub"><td class="remote">hub<\/td><td class="state connected">connected<\/td><td class="hub">hub\.example\.net:7422<\/td>/);
    assert.match(html, /<tr data-remote="backup"><td class="remote">backup<\/td><td class="state disconnected">disconnected<\/td>/);
    assert.match(html, /1 of 2 links connected/);
    assert.match(html, /<dd id="connections">3<\/dd>/);
    assert.match(html, /<dd id="auth-failures">5<\/dd>/);
    for (const e of ENDPOINTS) assert.ok(html.includes(`href=".${e.path}"`), e.path);
  });

  test("standalone and not ready say so", async (t) => {
    const s = fakeState();
    s.links = [];
    s.ready = false;
    s.readyReason = "lame duck mode";
    const { base } = await startFor(t, s);
    const html = await (await fetch(`${base}/`)).text();
    assert.match(html, /id="standalone"/);
    assert.match(html, /not ready: lame duck mode/);
  });

  test("names from the configuration and refusal codes are escaped", async (t) => {
    const s = fakeState();
    s.links = [{ ...s.links[0]!, remote: "<script>alert(1)</script>", account: "a&b" }];
    s.readyReason = "<b>";
    s.ready = false;
    const { base } = await startFor(t, s);
    const html = await (await fetch(`${base}/`)).text();
    assert.doesNotMatch(html, /<script>/);
    assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert.ok(html.includes("a&amp;b"));
    assert.ok(html.includes("not ready: &lt;b&gt;"));
  });
});

describe("monitor refusals and failures", () => {
  const notFound = ["/index.html", "/nope", "/choria", "/choria/x", "/leafz/1", "/metrics/extra", "/METRICS", "//metrics", "/connz/1"];
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
      startMonitor({ host: "127.0.0.1", port: mon.port, registry, sources, log: createLogger(new MemorySink(), new LevelControl("error")), info: () => info, about: () => about }),
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
