/**
 * Private reply namespaces end to end: gateway (AAA) → mTLS leafnode
 * → real nats-server hub with a simulated Choria fleet and responders. Caller
 * A's generic `request()` (an `_INBOX` reply rewritten into
 * `choria.reply.<md5(A)>._INBOX…`, which is what the hub responder sees) and
 * Choria-style requests with its own `choria.reply.<md5(A)>.<id>` work.
 * Caller B, holding `sub_subjects: [">"]`, is refused every subscription that
 * could reach A's replies (exact `-ERR` text, connection kept), and the broad
 * subscriptions B is allowed receive none of A's replies. A PUB with a reply
 * inside B's namespace is refused and never leaves the gateway. Nobody can
 * subscribe to, or receive, Choria lifecycle events.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as hubConnect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { getPki, type Pki } from "../helpers/pki.js";
import { natsConnectWithToken, startGateway, type TestGateway } from "../helpers/gateway.js";
import { rawConnect, type RawClient } from "../helpers/raw.js";
import { startHub, waitFor, type Hub } from "../helpers/hub.js";
import { startFleet, type Fleet, type FleetReply } from "../helpers/fleet.js";
import { createEd25519KeyPair, signNonce, tokenWorld, writeSignerFiles, type Ed25519KeyPair, type TokenWorld } from "../helpers/tokens.js";
import { md5Hex, sha256Hex } from "../../src/auth/reply_namespace.js";
import { subjectsIntersect } from "../../src/subject/subject.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const ECHO = "choria.node.echo.example.net";
const OPS_SVC = "ops.svc";
const A_ID = "up=alice";
const B_ID = "up=bob";
const A_MD5 = md5Hex(A_ID);
const A_SHA = sha256Hex(A_ID);
const B_MD5 = md5Hex(B_ID);
const B_SHA = sha256Hex(B_ID);

interface WireMsg {
  subject: string;
  sid: string;
  reply: string | undefined;
  payload: string;
}

/** Every MSG/HMSG in raw protocol text (other lines skipped). */
function parseMsgs(text: string): WireMsg[] {
  const out: WireMsg[] = [];
  let i = 0;
  while (i < text.length) {
    const end = text.indexOf("\r\n", i);
    if (end < 0) break;
    const parts = text.slice(i, end).split(" ");
    const op = parts[0];
    if (op !== "MSG" && op !== "HMSG") {
      i = end + 2;
      continue;
    }
    const total = Number(parts[parts.length - 1]);
    const withReply = parts.length === (op === "MSG" ? 5 : 6);
    out.push({ subject: parts[1]!, sid: parts[2]!, reply: withReply ? parts[3] : undefined, payload: text.slice(end + 2, end + 2 + total) });
    i = end + 2 + total + 2;
  }
  return out;
}

const subErr = (subject: string, queue?: string): string =>
  `-ERR 'Permissions Violation for Subscription to "${subject}"${queue ? ` using queue "${queue}"` : ""}'\r\n`;

describe("private reply namespaces through the gateway and a real hub", () => {
  let pki: Pki;
  let world: TokenWorld;
  let dir: string;
  let hub: Hub;
  let fleet: Fleet;
  let g: TestGateway;
  let hubNc: NatsConnection;
  const bobKey = createEd25519KeyPair();
  const eveKey = createEd25519KeyPair();
  /** Reply subjects the hub responders were given, by service. */
  const seenReplies: Record<string, string[]> = { [ECHO]: [], [OPS_SVC]: [] };
  /** Everything the hub delivers to a `>` subscriber. */
  const spy: { subject: string; reply: string | undefined; data: string }[] = [];
  const raws: RawClient[] = [];
  const conns: NatsConnection[] = [];

  const tokenA = (): string => world.mint({ callerid: A_ID, permissions: { fleet_management: true }, pubSubjects: ["ops.>"] });
  const tokenB = (): string =>
    world.mint({ callerid: B_ID, publicKey: bobKey.publicHex, permissions: { fleet_management: true }, pubSubjects: ["ops.>"], subSubjects: [">"] });

  /** A raw TLS connection logged in with `token`, the nonce signed by `key`; ready after PONG. */
  const rawLogin = async (token: string, key: Ed25519KeyPair): Promise<RawClient> => {
    const c = await rawConnect(g.gw.clientPort, pki.ca);
    raws.push(c);
    const sig = signNonce(key.privateKey, String(c.info.nonce));
    c.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: true, protocol: 1, auth_token: token, sig })}\r\nPING\r\n`);
    assert.equal(await c.expect(/\r\n/), "PONG\r\n");
    return c;
  };
  const clientA = async (): Promise<NatsConnection> => {
    const nc = await natsConnectWithToken(g.url, pki, tokenA(), world.user.seedHex, { name: "alice" });
    conns.push(nc);
    return nc;
  };
  /** The hub lists `subject` among the gateway's leafnode subscriptions (our LS+ arrived). */
  const hubSubs = async (): Promise<string[]> => {
    const leafs = ((await hub.leafz())["leafs"] ?? []) as { subscriptions_list?: string[] }[];
    return leafs.flatMap((l) => l.subscriptions_list ?? []);
  };
  const hubHasSub = (subject: string): Promise<true> => waitFor(`hub interest in ${subject}`, async () => (await hubSubs()).includes(subject) || undefined);
  /** The gateway has learnt the hub's interest in `subject` (so requests are forwarded, not answered 503). */
  const gatewayKnows = (subject: string): Promise<true> =>
    waitFor(`gateway knows hub interest in ${subject}`, () => g.gw.upstream?.hubInterest.match(subject).plain || undefined);

  before(async () => {
    pki = await getPki();
    world = tokenWorld();
    dir = mkdtempSync(join(tmpdir(), "aaa-ns-e2e-"));
    const { publicKeyPath } = writeSignerFiles(world.signer, dir, "signer");
    hub = await startHub({ pki });
    fleet = await startFleet({ hubUrl: hub.clientUrl, count: 3 });
    g = await startGateway(pki, [
      `plugin.choria.network.client_signer_cert = ${publicKeyPath}`,
      "plugin.choria.network.leafnode_remotes = hub",
      `plugin.choria.network.leafnode_remote.hub.url = ${hub.leafUrl}`,
      // Gateway.stop() leaves a timer of this length running; keep it short so the file ends promptly.
      "plugin.choria.network.aaa_leafnode.soft_shutdown_timeout = 1s",
    ]);
    await waitFor("gateway upstream connected", () => g.gw.ready || undefined, 20_000);
    hubNc = await hubConnect({ servers: hub.clientUrl, reconnect: false, name: "hub-services" });
    const respond = (service: string) => (err: Error | null, m: Msg) => {
      if (err || !m.reply) return;
      seenReplies[service]!.push(m.reply);
      m.respond(enc.encode(`answer:${dec.decode(m.data)}`));
    };
    hubNc.subscribe(ECHO, { callback: respond(ECHO) });
    hubNc.subscribe(OPS_SVC, { callback: respond(OPS_SVC) });
    hubNc.subscribe(">", { callback: (_e, m) => void spy.push({ subject: m.subject, reply: m.reply || undefined, data: dec.decode(m.data) }) });
    await hubNc.flush();
    await fleet.flush();
    for (const s of [ECHO, OPS_SVC, "choria.broadcast.agent.rpcutil"]) await gatewayKnows(s);
  });
  after(async () => {
    for (const c of raws) c.close();
    await Promise.allSettled(conns.map((nc) => nc.close()));
    await g?.stop();
    await hubNc?.close();
    await fleet?.stop();
    await hub?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("A's generic request() and Choria-style request work; the hub only ever sees A's namespace", async () => {
    const nc = await clientA();
    const before = seenReplies[ECHO]!.length;
    for (const body of ["one", "two", "three"]) {
      const r = await nc.request(ECHO, enc.encode(body), { timeout: 10_000 });
      assert.equal(dec.decode(r.data), `answer:${body}`);
      assert.match(r.subject, /^_INBOX\./, "the client sees its own _INBOX subject back");
    }
    const got = seenReplies[ECHO]!.slice(before);
    assert.equal(got.length, 3);
    for (const reply of got) assert.ok(reply.startsWith(`choria.reply.${A_MD5}._INBOX.`), `${reply} is inside A's namespace`);

    // Choria style: the caller's own reply subject, answered once per fleet node.
    const replySubject = `choria.reply.${A_MD5}.${Date.now()}`;
    const sub = nc.subscribe(`choria.reply.${A_MD5}.>`, { max: fleet.identities.length });
    await nc.flush();
    await hubHasSub(`choria.reply.${A_MD5}.>`);
    nc.publish("choria.broadcast.agent.rpcutil", enc.encode("ping"), { reply: replySubject });
    const identities: string[] = [];
    for await (const m of sub) {
      const body = JSON.parse(dec.decode(m.data)) as FleetReply;
      assert.equal(m.subject, replySubject);
      assert.equal(body.request, "ping");
      identities.push(body.identity);
    }
    assert.deepEqual(identities.sort(), [...fleet.identities].sort());
  });

  test("B can neither subscribe to nor receive A's replies, whatever it tries", async () => {
    const b = await rawLogin(tokenB(), bobKey);
    const refused: [string, string?][] = [
      [">"],
      ["choria.>"],
      ["choria.reply.>"],
      ["choria.reply.*.>"],
      ["*.reply.*.>"],
      ["choria.*.*.>"],
      [`choria.reply.${A_MD5}.>`],
      [`choria.reply.${A_MD5}.*`],
      [`choria.reply.${A_MD5}._INBOX.>`],
      [`choria.reply.${A_SHA}.>`],
      ["_INBOX"],
      ["choria.reply.>", "snoop"],
      ["choria.lifecycle.>"],
    ];
    // Allowed: `_INBOX.>` lands in B's own namespace; the others cannot match A's main-collective replies.
    const allowed = ["_INBOX.>", "ops.>", "ops.reply.*.>", `choria.reply.${B_MD5}.>`, "choria.broadcast.agent.>"];
    let ops = refused.map(([s, q], k) => `SUB ${s}${q ? ` ${q}` : ""} ${100 + k}\r\n`).join("");
    ops += allowed.map((s, k) => `SUB ${s} ${k + 1}\r\n`).join("");
    b.send(ops + "PING\r\n");
    assert.equal(await b.expect(/PONG\r\n/), refused.map(([s, q]) => subErr(s, q)).join("") + "PONG\r\n");
    assert.equal(b.isClosed(), false);
    await hubHasSub("ops.>");
    await hubHasSub(`choria.reply.${B_MD5}._INBOX.>`);

    // A: generic requests, a Choria-style broadcast, and a request with a reply in another collective's namespace.
    const nc = await clientA();
    for (const svc of [ECHO, OPS_SVC]) {
      const r = await nc.request(svc, enc.encode(`alice-generic-${svc}`), { timeout: 10_000 });
      assert.equal(dec.decode(r.data), `answer:alice-generic-${svc}`);
    }
    const choriaReplies = nc.subscribe(`choria.reply.${A_MD5}.>`, { max: fleet.identities.length });
    const opsReplies = nc.subscribe(`ops.reply.${A_MD5}.>`, { max: 1 });
    await nc.flush();
    await hubHasSub(`choria.reply.${A_MD5}.>`);
    await hubHasSub(`ops.reply.${A_MD5}.>`);
    nc.publish("choria.broadcast.agent.rpcutil", enc.encode("alice-broadcast"), { reply: `choria.reply.${A_MD5}.b1` });
    nc.publish(OPS_SVC, enc.encode("alice-ops"), { reply: `ops.reply.${A_MD5}.o1` });
    let fleetAnswers = 0;
    for await (const m of choriaReplies) fleetAnswers += (JSON.parse(dec.decode(m.data)) as FleetReply).request === "alice-broadcast" ? 1 : 0;
    assert.equal(fleetAnswers, fleet.identities.length);
    for await (const m of opsReplies) assert.equal(dec.decode(m.data), "answer:alice-ops");

    // B's subscriptions are live: a hub message and B's own request come through (its _INBOX mapped back).
    hubNc.publish("ops.control", enc.encode("control"));
    b.send("PUB ops.svc _INBOX.bob.1 5\r\nbob-1\r\n");
    await waitFor("B's controls", () => {
      const msgs = parseMsgs(b.buffer);
      return msgs.some((m) => m.subject === "ops.control") && msgs.some((m) => m.subject === "_INBOX.bob.1" && m.sid === "1" && m.payload === "answer:bob-1") || undefined;
    });
    b.send("PING\r\n");
    await waitFor("B's PONG", () => b.buffer.endsWith("PONG\r\n") || undefined);

    const msgs = parseMsgs(b.buffer);
    // B did see A's broadcast request, reply subject and all: it just cannot get at the answers.
    assert.ok(msgs.some((m) => m.subject === "choria.broadcast.agent.rpcutil" && m.reply === `choria.reply.${A_MD5}.b1`));
    for (const m of msgs) {
      assert.ok(!m.subject.includes(A_MD5) && !m.subject.includes(A_SHA), `B received ${m.subject}`);
      assert.ok(!m.payload.startsWith("answer:alice"), `B received A's reply ${m.payload} on ${m.subject}`);
      assert.ok(!m.payload.includes('"identity"'), `B received a fleet reply on ${m.subject}`);
    }
    assert.equal(b.isClosed(), false);
  });

  test("a PUB with a reply in another caller's namespace is refused, the connection kept, nothing delivered", async () => {
    const bob = await rawLogin(tokenB(), bobKey);
    bob.send(`SUB choria.reply.${B_MD5}.> 1\r\nSUB _INBOX.> 2\r\nSUB ops.reply.${B_MD5}.> 3\r\nPING\r\n`);
    assert.equal(await bob.expect(/\r\n/), "PONG\r\n");
    await hubHasSub(`choria.reply.${B_MD5}.>`);
    const answeredBefore = fleet.answered;
    const echoBefore = seenReplies[ECHO]!.length + seenReplies[OPS_SVC]!.length;

    const alice = await rawLogin(tokenA(), world.user);
    const forged = [
      ["choria.broadcast.agent.rpcutil", `choria.reply.${B_MD5}.f1`],
      [OPS_SVC, `ops.reply.${B_MD5}.f2`],
      [ECHO, `choria.reply.${B_SHA}.f3`],
      [ECHO, `choria.reply.${B_MD5}._INBOX.f4`],
    ] as const;
    alice.send(forged.map(([s, r]) => `PUB ${s} ${r} 5\r\nforge\r\n`).join("") + "PUB ops.barrier 7\r\nbarrier\r\nPING\r\n");
    const texts = forged.map(([, r]) => `-ERR 'Permissions Violation for Publish with Reply of "${r}"'\r\n`).join("");
    assert.equal(await alice.expect(/PONG\r\n/), texts + "PONG\r\n");
    assert.equal(alice.isClosed(), false);

    // The barrier published after the forgeries reached the hub; none of the forgeries did.
    await waitFor("barrier at the hub", () => spy.some((m) => m.subject === "ops.barrier") || undefined);
    assert.deepEqual(spy.filter((m) => m.data === "forge"), []);
    await fleet.flush();
    assert.equal(fleet.answered, answeredBefore, "the fleet answered no forged request");
    assert.equal(seenReplies[ECHO]!.length + seenReplies[OPS_SVC]!.length, echoBefore);
    bob.send("PING\r\n");
    assert.equal(await bob.expect(/\r\n/), "PONG\r\n", "B received nothing");

    // Alice's connection is still usable for a legitimate request.
    alice.send(`SUB choria.reply.${A_MD5}.> 1\r\nPING\r\n`);
    await alice.expect(/^PONG\r\n$/);
    await hubHasSub(`choria.reply.${A_MD5}.>`);
    alice.send(`PUB ${ECHO} choria.reply.${A_MD5}.ok 2\r\nok\r\n`);
    await alice.expect(new RegExp(`MSG choria\\.reply\\.${A_MD5}\\.ok 1 9\\r\\nanswer:ok\\r\\n`));
  });

  test("nobody subscribes to or receives lifecycle events, not even an events viewer", async () => {
    const eve = await rawLogin(world.mint({ callerid: "up=eve", publicKey: eveKey.publicHex, permissions: { events_viewer: true } }), eveKey);
    const refused = [
      "choria.lifecycle.>",
      "choria.lifecycle.event.>",
      "choria.lifecycle.event.alive.server",
      "choria.lifecycle.event.alive.*",
      "*.lifecycle.>",
      "choria.*.event.>",
    ];
    eve.send(refused.map((s, k) => `SUB ${s} ${100 + k}\r\n`).join("") + "SUB choria.machine.watcher.> 1\r\nPING\r\n");
    assert.equal(await eve.expect(/PONG\r\n/), refused.map((s) => subErr(s)).join("") + "PONG\r\n");
    const bob = await rawLogin(tokenB(), bobKey);
    bob.send("SUB choria.broadcast.> 1\r\nSUB ops.> 2\r\nPING\r\n");
    assert.equal(await bob.expect(/\r\n/), "PONG\r\n");
    await hubHasSub("choria.machine.watcher.>");
    await hubHasSub("choria.broadcast.>");

    const lifecycleBefore = spy.filter((m) => m.subject.startsWith("choria.lifecycle.")).length;
    await fleet.publishLifecycle();
    await waitFor("the fleet's lifecycle events at the hub", () =>
      spy.filter((m) => m.subject === "choria.lifecycle.event.alive.server").length >= lifecycleBefore + fleet.identities.length || undefined,
    );
    hubNc.publish("choria.machine.watcher.control.state", enc.encode("control"));
    hubNc.publish("choria.broadcast.control", enc.encode("control"));
    await eve.expect(/MSG choria\.machine\.watcher\.control\.state 1 7\r\ncontrol\r\n/);
    await bob.expect(/MSG choria\.broadcast\.control 1 7\r\ncontrol\r\n/);
    for (const c of raws) assert.doesNotMatch(c.buffer, /lifecycle/, "no lifecycle event reached any caller");

    // The gateway never even asked the hub for them.
    for (const s of await hubSubs()) assert.ok(!subjectsIntersect(s, "choria.lifecycle.>"), `gateway interest ${s} overlaps lifecycle events`);
  });
});
