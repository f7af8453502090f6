/**
 * Interest is aggregated on the way up. 1,000 clients connected
 * through the gateway with AAA tokens subscribe to the same subject, and 300
 * of them also join one queue group; the hub sees one subscription from the
 * leaf for the subject and one queue entry whose weight is the member count
 * (asserted on the hub's /leafz, in its protocol trace, and by a raw
 * observer leaf that reads the weight the hub advertises). One hub publish
 * crosses the link once and fans out to all 1,000 locally; a queue message
 * reaches exactly one member. The subject is withdrawn (one LS-) only when the
 * last subscriber leaves. The clients are raw TLS sockets speaking the client
 * protocol (CONNECT with token and nonce signature, SUB, PING) rather than full
 * NATS clients, to keep 1,000 of them light on a 2-core machine.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { rawConnect, type RawClient } from "../helpers/raw.js";
import { signNonce, tempDir } from "../helpers/tokens.js";
import { hubLeafs, observeHubInterest, startWorld, waitFor, type World } from "./gw_upstream_world.js";

const CLIENTS = 1000;
const QUEUE_MEMBERS = 300;
const BATCH = 50;
const enc = new TextEncoder();

/** Connect one raw client with the world's token, subscribe, and wait for the PONG that confirms it all. */
async function rawSubscriber(w: World, token: string, i: number): Promise<RawClient> {
  const c = await rawConnect(w.g.gw.clientPort, w.pki.ca);
  const sig = signNonce(w.tokens.user.seedHex, String(c.info.nonce));
  const connect = JSON.stringify({ verbose: false, pedantic: false, tls_required: true, headers: true, protocol: 1, name: `agg-${i}`, auth_token: token, sig });
  const queue = i < QUEUE_MEMBERS ? "SUB agg.work workers 2\r\n" : "";
  c.send(`CONNECT ${connect}\r\nSUB agg.subject 1\r\n${queue}PING\r\n`);
  await c.expect(/PONG\r\n/, 20000);
  return c;
}

/** Every subject the hub holds for its leafnode connections (`/leafz?subs=1`). */
async function leafSubjects(w: World): Promise<string[]> {
  return (await hubLeafs(w.hub)).flatMap((l) => l.subscriptions_list ?? []).sort();
}

/** How many lines of the hub's protocol trace show it receiving `op` (e.g. "LS+ agg.subject"). */
function traced(logFile: string, op: RegExp): string[] {
  return readFileSync(logFile, "utf8").split("\n").filter((l) => l.includes("<<- [") && op.test(l));
}

test(`${CLIENTS} clients on one subject make one LS+ upstream; ${QUEUE_MEMBERS} queue members make one entry with their count as weight`, async (t) => {
  const dir = tempDir(t, "aaa-gw-interest-");
  const hubLog = join(dir, "hub.log");
  const w = await startWorld(t, { hub: { extraConfig: `trace: true\nlog_file: "${hubLog}"` } });
  const gw = w.g.gw;
  const token = w.token({ pubSubjects: ["agg.>"], subSubjects: ["agg.>"] });
  const clients: RawClient[] = [];
  t.after(() => { for (const c of clients) c.close(); });

  for (let start = 0; start < CLIENTS; start += BATCH) {
    const batch = await Promise.all(Array.from({ length: Math.min(BATCH, CLIENTS - start) }, (_, k) => rawSubscriber(w, token, start + k)));
    clients.push(...batch);
  }
  assert.equal(gw.conns.size, CLIENTS);
  assert.equal(gw.router.subscriptionCount, CLIENTS + QUEUE_MEMBERS);

  // The hub's view: one plain subscription and one queue entry from the leaf.
  const observed = await waitFor(`hub-advertised weight ${QUEUE_MEMBERS}`, async () => {
    const o = await observeHubInterest(w.hub, w.pki);
    return o.some((e) => e.subject === "agg.work" && e.queue === "workers" && e.weight === QUEUE_MEMBERS) ? o : undefined;
  }, 20000);
  assert.equal(observed.filter((e) => e.subject === "agg.subject").length, 1);
  assert.deepEqual(observed.filter((e) => e.subject === "agg.work"), [{ subject: "agg.work", queue: "workers", weight: QUEUE_MEMBERS }]);
  // /leafz: the gateway's link holds exactly two subscriptions at the hub for 1,300 local ones.
  const withAgg = (await hubLeafs(w.hub)).filter((l) => l.subscriptions_list?.includes("agg.subject"));
  assert.equal(withAgg.length, 1, "one leafnode connection carries the subject: the gateway's");
  assert.deepEqual([...withAgg[0]!.subscriptions_list!].sort(), ["agg.subject", "agg.work"]);
  assert.equal(withAgg[0]!.subscriptions, 2);
  // On the wire: exactly one LS+ for the subject; queue LS+ lines only ever carry the current member count.
  assert.equal(traced(hubLog, /\[LS\+ agg\.subject\]/).length, 1);
  const weights = traced(hubLog, /\[LS\+ agg\.work workers \d+\]/).map((l) => Number(/workers (\d+)\]/.exec(l)![1]));
  assert.ok(weights.length >= 1 && weights.length <= QUEUE_MEMBERS, `${weights.length} weight updates`);
  assert.equal(weights.at(-1), QUEUE_MEMBERS);
  assert.deepEqual(weights, [...weights].sort((a, b) => a - b), "weights only grow while members join");

  // One hub publish crosses the link once and reaches every local subscriber; a queue message reaches one member.
  const hubNc = await w.hubClient({ name: "agg-publisher" });
  const inBefore = gw.upstream!.stats.inMsgs;
  hubNc.publish("agg.subject", enc.encode("hello"));
  for (let i = 0; i < 10; i++) hubNc.publish("agg.work", enc.encode(`job-${i}`));
  await hubNc.flush();
  for (const c of clients) await c.expect(/MSG agg\.subject 1 5\r\nhello\r\n/, 20000);
  await waitFor("10 queue deliveries", () => {
    const n = clients.reduce((sum, c) => sum + (c.buffer.match(/MSG agg\.work 2 /g)?.length ?? 0), 0);
    return n >= 10 ? n : undefined;
  }, 20000);
  assert.equal(clients.reduce((sum, c) => sum + (c.buffer.match(/MSG agg\.work 2 /g)?.length ?? 0), 0), 10, "each job to exactly one member");
  assert.equal(gw.upstream!.stats.inMsgs - inBefore, 11, "1 + 10 messages crossed the link");

  // All but one (the last, not a queue member) leave: the hub keeps the subject. The last one leaves: one LS-.
  const last = clients.at(-1)!;
  for (const c of clients.slice(0, -1)) c.close();
  await waitFor("999 connections gone", () => (gw.conns.size === 1 ? true : undefined), 20000);
  await waitFor("the queue entry withdrawn", async () => ((await leafSubjects(w)).includes("agg.work") ? undefined : true));
  assert.deepEqual(await leafSubjects(w), ["agg.subject"], "still one subscriber left");
  assert.equal(traced(hubLog, /\[LS- agg\.subject\]/).length, 0);
  last.close();
  await waitFor("the subject withdrawn", async () => ((await leafSubjects(w)).includes("agg.subject") ? undefined : true));
  assert.equal(traced(hubLog, /\[LS- agg\.subject\]/).length, 1);
  assert.equal(traced(hubLog, /\[LS- agg\.work workers\]/).length, 1);
});
