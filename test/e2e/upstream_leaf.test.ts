/**
 * LeafConn against a real nats-server 2.9.10 hub whose leafnode port requires
 * verified client certificates: the handshake, interest in both directions,
 * messages both ways (headers, replies, queue groups named as the hub needs),
 * nothing sent without interest, and refusals (no client certificate, an
 * untrusted one, the client port) logged and retried without throwing. The
 * local side is a small recording harness standing in for the router; the hub
 * and its clients (official NATS client) are real.
 */
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { connect, headers, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { LeafConn } from "../../src/upstream/leaf_conn.js";
import type { LeafRemoteConfig } from "../../src/config/types.js";
import { createLogger, LevelControl, MemorySink } from "../../src/obs/log.js";
import { getPki, type Pki } from "../helpers/pki.js";
import { leafRemoteFor, startHub, waitFor, type Hub } from "../helpers/hub.js";
import { localSide } from "../helpers/local_side.js";

interface Received { subject: string; reply: string | undefined; queues: readonly string[] | null; hdrLen: number; body: string }

/** Stands in for the router: local interest to replay, and what the hub delivered. */
class LocalSide {
  readonly interest = new Map<string, { subject: string; queue: string | undefined; weight: number }>();
  readonly received: Received[] = [];
  readonly logs = new MemorySink();
  leaf: LeafConn | null = null;
  sub(subject: string, queue?: string, weight = 1): void {
    this.interest.set(`${subject} ${queue ?? ""}`, { subject, queue, weight });
    this.leaf?.setInterest(subject, queue, weight);
  }
  unsub(subject: string, queue?: string): void {
    this.interest.delete(`${subject} ${queue ?? ""}`);
    this.leaf?.setInterest(subject, queue, 0);
  }
  logged(msg: string): Record<string, unknown>[] {
    return this.logs.records().filter((r) => r.msg === msg);
  }
}

function startLeaf(t: TestContext, remote: LeafRemoteConfig, name: string, local = new LocalSide()): { leaf: LeafConn; local: LocalSide } {
  const leaf = new LeafConn({
    remote,
    serverName: `gw-${name}`,
    version: "0.1.0",
    bufferBytes: 1 << 20,
    reconnectBaseDelay: 100,
    reconnectMaxDelay: 400,
    pingInterval: 1000,
    pingMax: 3,
    log: createLogger(local.logs, new LevelControl("debug")),
    local: localSide(() => local.interest.values(), (subject, reply, queues, hdrLen, payload) =>
      local.received.push({ subject, reply, queues, hdrLen, body: Buffer.from(payload).toString() })),
    timeouts: { register: 5000 },
  });
  local.leaf = leaf;
  leaf.start();
  t.after(() => leaf.stop());
  return { leaf, local };
}

const enc = (s: string): Uint8Array => Buffer.from(s);

async function leafSubjectsAtHub(hub: Hub): Promise<Set<string>> {
  const leafz = (await hub.leafz()) as { leafs?: { subscriptions_list?: string[] }[] };
  return new Set((leafz.leafs ?? []).flatMap((l) => l.subscriptions_list ?? []));
}

describe("LeafConn against a real mTLS hub", () => {
  let pki: Pki;
  let hub: Hub;
  let client: NatsConnection;

  before(async () => {
    pki = await getPki();
    hub = await startHub({ pki, extraConfig: "max_payload: 65536" });
    client = await connect({ servers: hub.clientUrl, name: "hub-client" });
  });
  after(async () => {
    await client?.close();
    await hub?.stop();
  });

  /** Subscribe on the hub and wait until the leaf has seen the hub's LS+ for it. */
  async function hubSub(leaf: LeafConn, subject: string, queue?: string): Promise<Msg[]> {
    const got: Msg[] = [];
    client.subscribe(subject, { queue, callback: (err, m) => { if (!err) got.push(m); } });
    await client.flush();
    await waitFor(`hub interest in ${subject}`, () => {
      const probe = subject.replace(/>$/, "x").replace(/\*/g, "x");
      const m = leaf.hubInterest.match(probe);
      return (queue === undefined ? m.plain : m.queues.includes(queue)) || undefined;
    });
    return got;
  }

  test("connects over mTLS and replays the local interest snapshot at the hub", async (t) => {
    const local = new LocalSide();
    local.sub("snap.>");
    local.sub("snap.work", "wq", 2);
    const { leaf } = startLeaf(t, leafRemoteFor(hub, pki), "snapshot", local);
    await waitFor("connected", () => leaf.connected || undefined);
    const subs = await waitFor("LS+ at the hub", async () => {
      const s = await leafSubjectsAtHub(hub);
      return s.has("snap.>") && s.has("snap.work") ? s : undefined;
    });
    assert.ok(subs.has("snap.>"));
    await waitFor("an RTT measurement", () => leaf.rttMs);
    assert.ok(leaf.rttMs! >= 0);
    assert.deepEqual(local.logged("upstream connected").map((r) => r.tls), [true]);
  });

  test("live interest: LS+ on add, LS- at zero", async (t) => {
    const { leaf, local } = startLeaf(t, leafRemoteFor(hub, pki), "live");
    await waitFor("connected", () => leaf.connected || undefined);
    local.sub("live.one");
    await waitFor("LS+ live.one", async () => (await leafSubjectsAtHub(hub)).has("live.one") || undefined);
    local.unsub("live.one");
    await waitFor("LS- live.one", async () => (!(await leafSubjectsAtHub(hub)).has("live.one")) || undefined);
  });

  test("a hub publish arrives through onMessage, with reply and headers", async (t) => {
    const local = new LocalSide();
    local.sub("down.>");
    const { leaf } = startLeaf(t, leafRemoteFor(hub, pki), "inbound", local);
    await waitFor("connected", () => leaf.connected || undefined);
    await waitFor("LS+ down.>", async () => (await leafSubjectsAtHub(hub)).has("down.>") || undefined);
    const h = headers();
    h.set("X-Probe", "1");
    client.publish("down.plain", enc("hello"), { reply: "reply.here" });
    client.publish("down.hdr", enc("hi"), { headers: h });
    client.publish("elsewhere", enc("not for us"));
    await client.flush();
    await waitFor("two messages", () => (local.received.length >= 2 ? true : undefined));
    const [plain, hdr] = local.received;
    assert.deepEqual(plain, { subject: "down.plain", reply: "reply.here", queues: null, hdrLen: -1, body: "hello" });
    assert.equal(hdr!.subject, "down.hdr");
    assert.ok(hdr!.hdrLen > 0);
    assert.match(hdr!.body.slice(0, hdr!.hdrLen), /^NATS\/1\.0\r\nX-Probe: 1\r\n\r\n$/);
    assert.equal(hdr!.body.slice(hdr!.hdrLen), "hi");
    assert.equal(leaf.stats.inMsgs, 2);
  });

  test("forward reaches hub subscribers only where the hub has interest", async (t) => {
    const { leaf } = startLeaf(t, leafRemoteFor(hub, pki), "outbound");
    await waitFor("connected", () => leaf.connected || undefined);
    const got = await hubSub(leaf, "up.>");
    assert.equal(leaf.forward("up.x", "r.1", -1, enc("hi"), null), true);
    const hdr = enc("NATS/1.0\r\nX-Probe: 2\r\n\r\n");
    assert.equal(leaf.forward("up.h", undefined, hdr.length, Buffer.concat([hdr, enc("body")]), null), true);
    // No interest: not sent, not counted as delivered.
    const before = leaf.stats.outMsgs;
    assert.equal(leaf.forward("nobody.listens", undefined, -1, enc("x"), null), false);
    assert.equal(leaf.stats.outMsgs, before);
    await waitFor("both messages at the hub", () => (got.length >= 2 ? true : undefined));
    assert.equal(got[0]!.subject, "up.x");
    assert.equal(got[0]!.reply, "r.1");
    assert.equal(got[0]!.string(), "hi");
    assert.equal(got[1]!.headers?.get("X-Probe"), "2");
    assert.equal(got[1]!.string(), "body");
  });

  test("the hub's max_payload is enforced before forwarding", async (t) => {
    const { leaf } = startLeaf(t, leafRemoteFor(hub, pki), "maxpayload");
    await waitFor("connected", () => leaf.connected || undefined);
    const got = await hubSub(leaf, "big.>");
    assert.equal(leaf.forward("big.over", undefined, -1, new Uint8Array(65537), null), false);
    assert.equal(leaf.stats.droppedMsgs, 1);
    assert.equal(leaf.stats.droppedBytes, 65537);
    assert.equal(leaf.forward("big.at", undefined, -1, new Uint8Array(65536), null), true);
    await waitFor("the message at the limit", () => got.length || undefined);
    assert.deepEqual(got.map((m) => [m.subject, m.data.length]), [["big.at", 65536]]);
  });

  test("hub queue groups are named unless served locally", async (t) => {
    const { leaf } = startLeaf(t, leafRemoteFor(hub, pki), "queues");
    await waitFor("connected", () => leaf.connected || undefined);
    const a = await hubSub(leaf, "jobs", "workers");
    const b = await hubSub(leaf, "jobs", "workers");
    for (let i = 0; i < 10; i++) assert.equal(leaf.forward("jobs", undefined, -1, enc(`job-${i}`), null), true);
    // The local side served the group: the hub's members must not get it, and no plain interest exists.
    assert.equal(leaf.forward("jobs", undefined, -1, enc("served"), new Set(["workers"])), false);
    await client.flush();
    await waitFor("10 jobs, each to exactly one member", () => (a.length + b.length >= 10 ? true : undefined));
    // A PING round trip through the leaf link makes any stray delivery visible before we count.
    const marker = await hubSub(leaf, "marker");
    leaf.forward("marker", undefined, -1, enc("m"), null);
    await waitFor("marker", () => marker.length || undefined);
    const bodies = [...a, ...b].map((m) => m.string()).sort();
    assert.deepEqual(bodies, Array.from({ length: 10 }, (_, i) => `job-${i}`).sort());
  });

  test("a request from the leaf gets its reply back through the replayed reply interest", async (t) => {
    const local = new LocalSide();
    const { leaf } = startLeaf(t, leafRemoteFor(hub, pki), "request", local);
    await waitFor("connected", () => leaf.connected || undefined);
    client.subscribe("svc.echo", { callback: (err, m) => { if (!err) m.respond(enc(`echo:${m.string()}`)); } });
    await hubSub(leaf, "svc.echo");
    // As the router does: the requester's reply interest first, then the request, same socket order.
    local.sub("choria.reply.abc.>");
    assert.equal(leaf.forward("svc.echo", "choria.reply.abc.1", -1, enc("ping"), null), true);
    await waitFor("the reply", () => local.received.find((r) => r.subject === "choria.reply.abc.1"));
    assert.equal(local.received.find((r) => r.subject === "choria.reply.abc.1")!.body, "echo:ping");
  });
});

describe("LeafConn refusals are logged and retried, never thrown", () => {
  let pki: Pki;
  let hub: Hub;
  before(async () => {
    pki = await getPki();
    hub = await startHub({ pki });
  });
  after(async () => {
    await hub?.stop();
  });

  // The hub's words reach the log: its TLS alert, or our own check of its INFO.
  const cases: [string, (p: Pki, h: Hub) => Partial<LeafRemoteConfig>, RegExp][] = [
    ["no client certificate", (p) => ({ tls: { ca: p.ca, verify: true, handshakeFirst: false } }), /certificate/],
    ["a client certificate from an untrusted CA", (p) => ({
      tls: { cert: p.untrustedClient.cert, key: p.untrustedClient.key, ca: p.ca, verify: true, handshakeFirst: false },
    }), /certificate/],
    ["the hub's client port", (_p, h) => ({ urls: [h.clientUrl] }), /wrong port/],
  ];
  for (const [name, override, words] of cases) {
    test(name, async (t) => {
      const { leaf, local } = startLeaf(t, leafRemoteFor(hub, pki, override(pki, hub)), name.replace(/\W+/g, "-"));
      const failures = await waitFor("two logged failures", () => {
        const f = local.logged("upstream connect failed");
        return f.length >= 2 ? f : undefined;
      });
      assert.equal(leaf.connected, false);
      for (const f of failures) assert.match(String(f.error), words);
      assert.match(leaf.stats.lastError ?? "", words);
      const leafz = (await hub.leafz()) as { leafnodes: number };
      assert.equal(leafz.leafnodes, 0);
    });
  }
});
