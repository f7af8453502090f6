/**
 * Worker mode's merged view of the upstream (src/workers/merge.ts): every
 * worker has its own link to every remote, and the merged view keeps one
 * entry per remote that an operator reads correctly (how many workers are
 * connected, the worst state, the most recent error and whose, the most
 * failed attempts, the earliest retry, counters added up). The snapshot a
 * worker sends must survive the IPC's JSON, and the cluster aggregation of
 * the workers' registries must leave one Prometheus series per remote.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AggregatorRegistry } from "prom-client";
import { createMetrics, useClusterAggregators } from "../../../src/obs/metrics.js";
import { mergeLeafnodes, mergeSnapshots, mergeStatus, snapshotOf } from "../../../src/workers/merge.js";
import type { RemoteState, RemoteStatus } from "../../../src/upstream/leaf_conn.js";
import { fakeSources, fakeState, parseSamples, type FakeLink } from "./fixture.js";

const T0 = Date.UTC(2025, 0, 1);
const iso = (s: number): string => new Date(T0 + s * 1000).toISOString();

function link(remote: string, up: boolean, extra: Partial<FakeLink> = {}): FakeLink {
  return {
    remote, connected: up, rttMs: up ? 10 : undefined, inMsgs: 5, outMsgs: 6, inBytes: 50, outBytes: 60, reconnects: 1,
    bufferedMsgs: up ? 0 : 2, bufferedBytes: up ? 0 : 20, bufferLimitBytes: 1000, droppedMsgs: 0, droppedBytes: 0,
    subscriptions: up ? 3 : 0, hubSubjects: up ? ["a", "b", "c"] : [],
    host: up ? "hub.example.net" : undefined, port: up ? 7422 : undefined, account: "$G", ...extra,
  };
}

function status(state: RemoteState, extra: Partial<RemoteStatus> = {}): RemoteStatus {
  return { state, url: "hub.example.net:7422", lastError: null, failedAttempts: 0, nextRetryAt: null, ...extra };
}

/** Worker `n`'s snapshot with these links, sent through JSON as process.send does. */
function workerSnap(n: number, links: FakeLink[]) {
  const state = fakeState();
  state.links = links;
  return JSON.parse(JSON.stringify(snapshotOf(n, fakeSources(state), {}, false, false))) as ReturnType<typeof snapshotOf>;
}

describe("worker mode: one entry per remote", () => {
  test("connected counts the workers, state is the worst, the last error the most recent with its worker, attempts the max, retry the earliest", () => {
    const w1 = workerSnap(1, [
      link("hub", true, { status: status("connected") }),
      link("dr", false, { status: status("backing off", { failedAttempts: 3, nextRetryAt: iso(30), lastError: { text: "old", code: "E_OLD", at: iso(1) } }) }),
    ]);
    const w2 = workerSnap(2, [
      link("hub", false, { status: status("connecting", { failedAttempts: 1, lastError: { text: "nothing accepts", code: "GW_ERR_UPSTREAM_CONNECT_REFUSED", at: iso(5) } }) }),
      link("dr", false, { status: status("backing off", { failedAttempts: 7, nextRetryAt: iso(12), lastError: { text: "new", code: "E_NEW", at: iso(9) } }) }),
    ]);
    const leaf = mergeLeafnodes([w1, w2]);
    const [hub, dr] = leaf.remotes!;
    assert.deepEqual(leaf.remotes!.map((r) => r.remote), ["hub", "dr"], "one entry per remote, in configuration order");

    assert.equal(hub!.connected, 1);
    assert.equal(hub!.links, 2);
    assert.equal(hub!.status!.state, "connecting", "one worker still dialling: the remote is not connected");
    assert.deepEqual(hub!.status!.lastError, { text: "nothing accepts", code: "GW_ERR_UPSTREAM_CONNECT_REFUSED", at: iso(5), worker: 2 });
    assert.equal(hub!.host, "hub.example.net", "the connected worker's hub address");
    assert.equal(hub!.rttMs, 10, "the round trip of the connected link only");
    assert.equal(hub!.subscriptions, 3);

    assert.equal(dr!.connected, 0);
    assert.equal(dr!.status!.state, "backing off");
    assert.equal(dr!.status!.failedAttempts, 7);
    assert.equal(dr!.status!.nextRetryAt, iso(12), "the earliest retry");
    assert.equal(dr!.status!.lastError!.worker, 2);
    assert.equal(dr!.status!.lastError!.code, "E_NEW");

    // Counters add up per remote, and the remotes add up to the totals.
    assert.equal(dr!.inMsgs, 10);
    assert.equal(dr!.bufferedBytes, 40);
    assert.equal(dr!.bufferLimitBytes, 2000, "each worker has its own outage buffer");
    assert.equal(leaf.inMsgs, hub!.inMsgs + dr!.inMsgs);
    assert.equal(leaf.connected, 1);
  });

  test("the snapshot carries no functions (subjects() cannot cross the IPC), and the merged view lists remotes for /readyz", () => {
    const state = fakeState();
    state.links = [link("hub", true, { status: status("connected") })];
    const snap = snapshotOf(1, fakeSources(state), {}, false, false);
    assert.equal(snap.leafnode.remotes![0]!.subjects, undefined);
    assert.deepEqual(JSON.parse(JSON.stringify(snap.leafnode)), snap.leafnode, "plain data: JSON keeps all of it");

    const view = mergeSnapshots([snap, workerSnap(2, [link("hub", false)])], 2, null);
    assert.equal(view.leafnode().remotes![0]!.connected, 1);
    assert.equal(view.leafnode().remotes![0]!.links, 2);
  });

  test("a merged status never looks better than any worker's and keeps every worker's worst facts (property)", () => {
    const states: RemoteState[] = ["connected", "connecting", "backing off", "stopped"];
    const arbStatus = fc.record({
      worker: fc.integer({ min: 1, max: 8 }),
      status: fc.record({
        state: fc.constantFrom(...states),
        url: fc.option(fc.constant("h:1"), { nil: null }),
        lastError: fc.option(fc.record({ text: fc.string(), code: fc.string(), at: fc.integer({ min: 0, max: 1000 }).map(iso) }), { nil: null }),
        failedAttempts: fc.nat(50),
        nextRetryAt: fc.option(fc.integer({ min: 0, max: 1000 }).map(iso), { nil: null }),
      }),
    });
    fc.assert(fc.property(fc.array(arbStatus, { minLength: 1, maxLength: 6 }), (all) => {
      const m = mergeStatus(all)!;
      for (const { status: s } of all) {
        assert.ok(states.indexOf(m.state) >= states.indexOf(s.state));
        assert.ok(m.failedAttempts >= s.failedAttempts);
        if (s.nextRetryAt !== null) assert.ok(m.nextRetryAt !== null && Date.parse(m.nextRetryAt) <= Date.parse(s.nextRetryAt));
        if (s.lastError !== null) assert.ok(m.lastError !== null && Date.parse(m.lastError.at) >= Date.parse(s.lastError.at));
      }
      if (m.lastError !== null) assert.ok(all.some((a) => a.worker === m.lastError!.worker && a.status.lastError?.at === m.lastError!.at));
      else assert.ok(all.every((a) => a.status.lastError === null));
    }));
  });
});

describe("worker mode: Prometheus series per remote after the cluster aggregation", () => {
  /** Every sample with a `remote` label, aggregated as the primary does over the workers' registries. */
  async function aggregated(workers: FakeLink[][]) {
    useClusterAggregators();
    const jsons = await Promise.all(workers.map((links) => {
      const state = fakeState();
      state.links = links;
      return createMetrics(fakeSources(state), { identity: "gw", defaultMetrics: false }).registry.getMetricsAsJSON();
    }));
    return parseSamples(await AggregatorRegistry.aggregate(jsons).metrics()).filter((s) => s.labels.remote !== undefined);
  }

  test("one series per metric and remote even when the workers' links differ (one up, one down, another hub address)", async () => {
    const samples = await aggregated([
      [link("hub", true), link("dr", false)],
      [link("hub", false), link("dr", true, { host: "dr1.example.net" })],
      [link("hub", true, { host: "hub2.example.net", port: 7423 }), link("dr", true, { host: "dr2.example.net" })],
    ]);
    const seen = new Map<string, number>();
    for (const s of samples) seen.set(`${s.name}{remote=${s.labels.remote}}`, (seen.get(`${s.name}{remote=${s.labels.remote}}`) ?? 0) + 1);
    const dupes = [...seen].filter(([, n]) => n > 1);
    assert.deepEqual(dupes, [], "no metric has two series for one remote");
    const one = (name: string, remote: string) => samples.find((s) => s.name === name && s.labels.remote === remote)!;
    assert.equal(one("choria_network_leafnode_in_msgs", "hub").value, 15, "summed over the three workers");
    assert.equal(one("choria_network_leafnode_in_msgs", "hub").labels.host, "hub.example.net", "a connected link's hub address");
    assert.equal(one("choria_network_leafnode_rtt_ms", "hub").value, 10, "averaged over the connected links");
    assert.equal(one("aaa_leafnode_upstream_remote_connected", "dr").value, 2, "two of the three workers connected");
  });
});
