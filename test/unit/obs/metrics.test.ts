import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createMetrics, type MetricSources } from "../../../src/obs/metrics.js";
import { fakeSources, fakeState, metricType, parseSamples, sampleValue } from "./fixture.js";

const identity = "gw1.example.net";

async function scrape(sources: MetricSources, opts: Parameters<typeof createMetrics>[1] = { identity }) {
  const m = createMetrics(sources, opts);
  const text = await m.registry.metrics();
  return { m, text, samples: parseSamples(text) };
}

describe("Choria broker metrics", () => {
  const cases: Array<[string, number]> = [
    ["choria_network_connections", 3],
    ["choria_network_total_connections", 17],
    ["choria_network_in_msgs", 101],
    ["choria_network_out_msgs", 202],
    ["choria_network_in_bytes", 3003],
    ["choria_network_out_bytes", 4004],
    ["choria_network_slow_consumers", 1],
    ["choria_network_subscriptions", 9],
    ["choria_network_leafnode_remotes", 1],
    ["choria_network_routes", 0],
    ["choria_network_remotes", 0],
  ];
  for (const [name, want] of cases) {
    test(`${name} is a gauge labelled with the identity`, async () => {
      const { text, samples } = await scrape(fakeSources(fakeState()));
      assert.equal(metricType(text, name), "gauge");
      assert.equal(sampleValue(samples, name, { identity }), want);
    });
  }

  const linkCases: Array<[string, number]> = [
    ["choria_network_leafnode_rtt_ms", 12],
    ["choria_network_leafnode_in_msgs", 50],
    ["choria_network_leafnode_out_msgs", 60],
    ["choria_network_leafnode_in_bytes", 5000],
    ["choria_network_leafnode_out_bytes", 6000],
    ["choria_network_leafnode_subscriptions", 2],
  ];
  for (const [name, want] of linkCases) {
    test(`${name} carries Choria's link labels`, async () => {
      const { text, samples } = await scrape(fakeSources(fakeState()));
      assert.equal(metricType(text, name), "gauge");
      assert.equal(sampleValue(samples, name, { identity, remote: "hub", host: "hub.example.net", port: "7422", account: "$G" }), want);
    });
  }

  test("link metrics are absent when running standalone", async () => {
    const state = fakeState();
    state.links = [];
    const { samples } = await scrape(fakeSources(state));
    for (const [name] of linkCases) assert.equal(sampleValue(samples, name), undefined, name);
    assert.equal(sampleValue(samples, "choria_network_leafnode_remotes", { identity }), 0);
  });

  test("rtt and hub interest are absent while disconnected; rtt before the first measurement", async () => {
    const state = fakeState();
    state.links = [{ ...state.links[0]!, connected: false }];
    let r = await scrape(fakeSources(state));
    assert.equal(sampleValue(r.samples, "choria_network_leafnode_rtt_ms"), undefined);
    assert.equal(sampleValue(r.samples, "choria_network_leafnode_subscriptions"), undefined);
    assert.equal(sampleValue(r.samples, "choria_network_leafnode_in_msgs"), 50);
    state.links = [{ ...state.links[0]!, connected: true, rttMs: undefined }];
    r = await scrape(fakeSources(state));
    assert.equal(sampleValue(r.samples, "choria_network_leafnode_rtt_ms"), undefined);
  });

  test("several links: one series per remote, kept apart by the remote label while down", async () => {
    const state = fakeState();
    const base = state.links[0]!;
    state.links = [
      { ...base, remote: "east", connected: false, host: undefined, port: undefined, inMsgs: 5, bufferedBytes: 10 },
      { ...base, remote: "west", connected: false, host: undefined, port: undefined, inMsgs: 7, bufferedBytes: 20 },
      { ...base, remote: "north", inMsgs: 9 },
    ];
    const { samples } = await scrape(fakeSources(state));
    assert.equal(sampleValue(samples, "choria_network_leafnode_in_msgs", { remote: "east" }), 5);
    assert.equal(sampleValue(samples, "choria_network_leafnode_in_msgs", { remote: "west" }), 7);
    assert.equal(sampleValue(samples, "choria_network_leafnode_in_msgs", { remote: "north", host: "hub.example.net" }), 9);
    assert.equal(sampleValue(samples, "choria_network_leafnode_remotes", { identity }), 1);
    assert.equal(sampleValue(samples, "aaa_leafnode_upstream_configured"), 3);
    assert.equal(sampleValue(samples, "aaa_leafnode_upstream_remote_connected", { remote: "east" }), 0);
    assert.equal(sampleValue(samples, "aaa_leafnode_upstream_remote_connected", { remote: "north" }), 1);
    assert.equal(sampleValue(samples, "aaa_leafnode_upstream_remote_buffered_bytes", { remote: "west" }), 20);
    assert.equal(sampleValue(samples, "aaa_leafnode_upstream_connected"), 1);
  });

  test("choria_build_info is 1, labelled with the version, commit and identity", async () => {
    const { text, samples } = await scrape(fakeSources(fakeState()), { identity, build: { version: "9.8.7", sha: "abc123" } });
    assert.equal(metricType(text, "choria_build_info"), "counter");
    assert.equal(sampleValue(samples, "choria_build_info", { version: "9.8.7", sha: "abc123", identity }), 1);
    const dflt = await scrape(fakeSources(fakeState()));
    const s = dflt.samples.find((x) => x.name === "choria_build_info");
    assert.match(s?.labels.version ?? "", /^\d+\.\d+\.\d+/);
  });

  test("the identity label defaults to a non-empty host name", async () => {
    const { samples } = await scrape(fakeSources(fakeState()), {});
    const s = samples.find((x) => x.name === "choria_network_connections");
    assert.ok(s && s.labels.identity && s.labels.identity.length > 0);
  });
});

describe("gateway metrics", () => {
  const cases: Array<[string, Record<string, string>, number, string]> = [
    ["aaa_leafnode_auth_total", { outcome: "ok" }, 15, "counter"],
    ["aaa_leafnode_auth_total", { outcome: "GW_ERR_AUTH_EXPIRED" }, 2, "counter"],
    ["aaa_leafnode_permission_violations_total", { kind: "publish" }, 4, "counter"],
    ["aaa_leafnode_permission_violations_total", { kind: "subscribe" }, 5, "counter"],
    ["aaa_leafnode_permission_violations_total", { kind: "reply" }, 0, "counter"],
    ["aaa_leafnode_closed_connections_total", { reason: "ClientClosed" }, 12, "counter"],
    ["aaa_leafnode_closed_connections_total", { reason: "AuthViolation" }, 2, "counter"],
    ["aaa_leafnode_rewritten_inboxes_total", {}, 33, "counter"],
    ["aaa_leafnode_lifecycle_filtered_total", {}, 7, "counter"],
    ["aaa_leafnode_write_pool_bytes", {}, 65536, "gauge"],
    ["aaa_leafnode_ready", {}, 1, "gauge"],
    ["aaa_leafnode_upstream_configured", {}, 1, "gauge"],
    ["aaa_leafnode_upstream_connected", {}, 1, "gauge"],
    ["aaa_leafnode_upstream_reconnects_total", {}, 2, "counter"],
    ["aaa_leafnode_upstream_buffered_msgs", {}, 3, "gauge"],
    ["aaa_leafnode_upstream_buffered_bytes", {}, 300, "gauge"],
    ["aaa_leafnode_upstream_dropped_msgs_total", {}, 4, "counter"],
    ["aaa_leafnode_upstream_dropped_bytes_total", {}, 400, "counter"],
    ["aaa_leafnode_upstream_remote_buffer_limit_bytes", { remote: "hub" }, 1000, "gauge"],
    ["aaa_leafnode_closed_connections_total", { reason: "auth_expired" }, 0, "counter"],
    ["aaa_leafnode_closed_connections_total", { reason: "slow_consumer_pending_bytes" }, 0, "counter"],
    ["aaa_leafnode_websocket_upgrades_total", {}, 8, "counter"],
    ["aaa_leafnode_websocket_rejected_total", { reason: "origin" }, 1, "counter"],
    ["aaa_leafnode_login_relay_requests_total", { outcome: "ok" }, 6, "counter"],
    ["aaa_leafnode_login_relay_requests_total", { outcome: "timeout" }, 1, "counter"],
  ];
  for (const [name, labels, want, type] of cases) {
    test(`${name}${JSON.stringify(labels)} = ${want}`, async () => {
      const { text, samples } = await scrape(fakeSources(fakeState()));
      assert.equal(metricType(text, name), type);
      assert.equal(sampleValue(samples, name, labels), want);
    });
  }

  test("values follow the sources from one scrape to the next", async () => {
    const state = fakeState();
    const m = createMetrics(fakeSources(state), { identity });
    let s = parseSamples(await m.registry.metrics());
    assert.equal(sampleValue(s, "choria_network_connections"), 3);
    assert.equal(sampleValue(s, "aaa_leafnode_auth_total", { outcome: "ok" }), 15);

    state.connections = 5;
    state.inMsgs = 1000;
    state.authOutcomes = { ok: 16, GW_ERR_AUTH_BAD_SIGNATURE: 1 };
    state.links = [{ ...state.links[0]!, connected: false, reconnects: 3 }];
    state.ready = false;
    s = parseSamples(await m.registry.metrics());
    assert.equal(sampleValue(s, "choria_network_connections"), 5);
    assert.equal(sampleValue(s, "choria_network_in_msgs"), 1000);
    assert.equal(sampleValue(s, "aaa_leafnode_auth_total", { outcome: "ok" }), 16);
    assert.equal(sampleValue(s, "aaa_leafnode_auth_total", { outcome: "GW_ERR_AUTH_BAD_SIGNATURE" }), 1);
    // An outcome the source no longer reports is not left behind from the last scrape.
    assert.equal(sampleValue(s, "aaa_leafnode_auth_total", { outcome: "GW_ERR_AUTH_EXPIRED" }), undefined);
    assert.equal(sampleValue(s, "aaa_leafnode_upstream_connected"), 0);
    assert.equal(sampleValue(s, "aaa_leafnode_upstream_reconnects_total"), 3);
    assert.equal(sampleValue(s, "choria_network_leafnode_remotes"), 0);
    assert.equal(sampleValue(s, "aaa_leafnode_ready"), 0);
  });

  test("a bad source value reads as 0 instead of failing the scrape", async () => {
    const state = fakeState();
    state.rewrittenInboxes = -1;
    state.connections = Number.NaN;
    state.closeReasons = { Weird: Number.POSITIVE_INFINITY };
    const { samples } = await scrape(fakeSources(state));
    assert.equal(sampleValue(samples, "aaa_leafnode_rewritten_inboxes_total"), 0);
    assert.equal(sampleValue(samples, "choria_network_connections"), 0);
    assert.equal(sampleValue(samples, "aaa_leafnode_closed_connections_total", { reason: "Weird" }), 0);
  });

  test("optional websocket and login relay sources add no metrics when absent", async () => {
    const { websocket: _w, loginRelay: _l, ...rest } = fakeSources(fakeState());
    const { text } = await scrape(rest);
    assert.doesNotMatch(text, /aaa_leafnode_websocket_/);
    assert.doesNotMatch(text, /aaa_leafnode_login_relay_requests_total/);
    assert.match(text, /aaa_leafnode_auth_total/);
  });

  test("the prefix renames the gateway's metrics and leaves Choria's names alone", async () => {
    const { samples } = await scrape(fakeSources(fakeState()), { identity, prefix: "edge_" });
    assert.equal(sampleValue(samples, "edge_rewritten_inboxes_total"), 33);
    assert.equal(sampleValue(samples, "aaa_leafnode_rewritten_inboxes_total"), undefined);
    assert.equal(sampleValue(samples, "choria_network_connections"), 3);
  });

  test("process metrics share the registry unless turned off", async () => {
    let r = await scrape(fakeSources(fakeState()));
    assert.ok(r.samples.some((s) => s.name === "process_cpu_user_seconds_total"));
    r = await scrape(fakeSources(fakeState()), { identity, defaultMetrics: false });
    assert.ok(!r.samples.some((s) => s.name.startsWith("process_") || s.name.startsWith("nodejs_")));
  });
});

describe("latency histograms", () => {
  test("auth latency observations land in the buckets", async () => {
    const m = createMetrics(fakeSources(fakeState()), { identity, defaultMetrics: false });
    m.observeAuthSeconds(0.002);
    m.observeAuthSeconds(0.3);
    m.observeAuthSeconds(-1); // ignored: a clock step must not throw on the connect path
    m.observeAuthSeconds(Number.NaN);
    const s = parseSamples(await m.registry.metrics());
    assert.equal(sampleValue(s, "aaa_leafnode_auth_duration_seconds_count"), 2);
    assert.equal(sampleValue(s, "aaa_leafnode_auth_duration_seconds_bucket", { le: "0.0025" }), 1);
    assert.equal(sampleValue(s, "aaa_leafnode_auth_duration_seconds_bucket", { le: "0.5" }), 2);
    assert.ok(Math.abs(sampleValue(s, "aaa_leafnode_auth_duration_seconds_sum")! - 0.302) < 1e-9);
  });

  test("login relay latency is split by outcome", async () => {
    const m = createMetrics(fakeSources(fakeState()), { identity, defaultMetrics: false });
    m.observeRelaySeconds("ok", 0.2);
    m.observeRelaySeconds("ok", 0.04);
    m.observeRelaySeconds("timeout", 10);
    const s = parseSamples(await m.registry.metrics());
    assert.equal(sampleValue(s, "aaa_leafnode_login_relay_duration_seconds_count", { outcome: "ok" }), 2);
    assert.equal(sampleValue(s, "aaa_leafnode_login_relay_duration_seconds_count", { outcome: "timeout" }), 1);
    assert.equal(sampleValue(s, "aaa_leafnode_login_relay_duration_seconds_bucket", { outcome: "ok", le: "0.05" }), 1);
  });
});
