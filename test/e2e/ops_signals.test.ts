/**
 * Process signals of `aaa-leafnode run`, sent to a real child process.
 * SIGUSR2 (lame duck): protocol-1 clients get an INFO with `"ldm":true`
 * (protocol-0 clients do not), new connections are refused, /readyz turns 503,
 * every client is closed spread over the configured window (none before the
 * grace period, the last one late in the window; a second SIGUSR2 changes
 * nothing), then the process exits 0.
 * SIGTERM and SIGINT: the process drains and exits 0 within the soft shutdown
 * timeout, and a subscriber receives every message published (and flushed)
 * before the signal.
 */
import { before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/transport-node";
import { getPki, type Pki } from "../helpers/pki.js";
import { waitFor } from "../helpers/hub.js";
import { rawConnect, type RawClient } from "../helpers/raw.js";
import { signNonce, tokenWorld, writeSignerFiles, type TokenWorld } from "../helpers/tokens.js";
import { baseConf, Clients, httpGet, opsDir, spawnGateway, tcpAccepts, type OpsGateway } from "./ops_world.js";

const WINDOW_MS = 3000;
const GRACE_MS = 1000;
const SOFT_SHUTDOWN_MS = 5000;

async function startWorld(t: TestContext, pki: Pki, extra: string[]): Promise<{ gw: OpsGateway; tokens: TokenWorld; clients: Clients }> {
  const dir = opsDir(t, "aaa-ops-signals-");
  const tokens = tokenWorld();
  const { publicKeyPath } = writeSignerFiles(tokens.signer, dir, "signer");
  const gw = await spawnGateway(t, dir, baseConf(pki, [publicKeyPath], extra));
  return { gw, tokens, clients: new Clients(t, pki) };
}

/** A raw TLS client past CONNECT (with the given protocol level) and a PING/PONG. */
async function rawClient(t: TestContext, pki: Pki, gw: OpsGateway, tokens: TokenWorld, protocol: 0 | 1): Promise<RawClient> {
  const raw = await rawConnect(gw.clientPort, pki.ca);
  t.after(() => raw.close());
  const connect = {
    verbose: false, pedantic: false, tls_required: true, protocol, headers: true, no_responders: true,
    name: `raw-proto-${protocol}`,
    auth_token: tokens.mint({ callerid: `up=raw-${protocol}` }),
    sig: signNonce(tokens.user.privateKey, String(raw.info["nonce"])),
  };
  raw.send(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`);
  await raw.expect(/PONG\r\n/);
  return raw;
}

describe("process signals", () => {
  let pki: Pki;
  before(async () => {
    pki = await getPki();
  });

  test("SIGUSR2: lame duck INFO, refusals, closes spread over the window, exit 0", async (t) => {
    const { gw, tokens, clients } = await startWorld(t, pki, [
      `plugin.choria.network.aaa_leafnode.lame_duck_duration = ${WINDOW_MS / 1000}s`,
      `plugin.choria.network.aaa_leafnode.lame_duck_grace_period = ${GRACE_MS / 1000}s`,
    ]);
    const token = tokens.mint({ callerid: "up=lame" });
    let signalledAt = 0;
    const closedAfter: number[] = [];
    const ldmSeen = new Set<number>();
    const order: string[] = [];
    const ncs: NatsConnection[] = [];
    for (let i = 0; i < 5; i++) {
      const nc = await clients.connect(gw.url, token, tokens.user, { name: `lame-${i}` });
      ncs.push(nc);
      void (async () => {
        for await (const s of nc.status()) {
          if (s.type !== "ldm") continue;
          ldmSeen.add(i);
          order.push(`ldm ${i}`);
        }
      })();
      void nc.closed().then(() => {
        closedAfter.push(Date.now() - signalledAt);
        order.push(`closed ${i}`);
      });
    }
    const proto1 = await rawClient(t, pki, gw, tokens, 1);
    const proto0 = await rawClient(t, pki, gw, tokens, 0);
    for (const raw of [proto1, proto0]) void raw.closed.then(() => closedAfter.push(Date.now() - signalledAt));

    signalledAt = Date.now();
    gw.signal("SIGUSR2");
    const ldmInfo = await proto1.expect(/INFO \{[^\r\n]*\} ?\r\n/, 10_000);
    assert.match(ldmInfo, /"ldm":true/);
    await waitFor("every official client to see lame duck mode", () => (ldmSeen.size === ncs.length ? true : undefined), 10_000);
    // An impatient operator signals again: lame duck mode goes on as it was, not cut short.
    gw.signal("SIGUSR2");

    // During lame duck: no new connections, not ready.
    assert.equal(await tcpAccepts(gw.clientPort), false, "the client port no longer accepts");
    const ready = await httpGet(gw.statsPort!, "/readyz");
    assert.equal(ready.status, 503);
    assert.match(ready.body, /lame duck/);

    const r = await gw.exited;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(closedAfter.length, 7, "every client was closed");
    closedAfter.sort((a, b) => a - b);
    const first = closedAfter[0]!;
    const last = closedAfter[closedAfter.length - 1]!;
    assert.ok(first >= GRACE_MS - 50, `no close before the grace period (first at ${first} ms)`);
    assert.ok(last >= WINDOW_MS * 0.6, `closes spread over the window (last at ${last} ms)`);
    assert.ok(last - first >= (WINDOW_MS - GRACE_MS) / 2, `not all at once (${closedAfter.join(", ")} ms)`);
    for (let i = 0; i < ncs.length; i++) {
      assert.ok(order.indexOf(`ldm ${i}`) < order.indexOf(`closed ${i}`), `client ${i} is told before it is closed: ${order.join(", ")}`);
    }
    assert.doesNotMatch(proto0.buffer, /ldm/, "protocol-0 clients get no asynchronous INFO");
    assert.equal(gw.logged("entering lame duck mode").length, 1);
    assert.equal(gw.logged("shutting down")[0]?.["signal"], "lame duck complete");
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal}: exit 0 within the soft shutdown timeout, no flushed message lost`, async (t) => {
      const N = 20_000;
      const { gw, tokens, clients } = await startWorld(t, pki, [
        `plugin.choria.network.aaa_leafnode.soft_shutdown_timeout = ${SOFT_SHUTDOWN_MS / 1000}s`,
      ]);
      const token = tokens.mint({ callerid: "up=drain", pubSubjects: ["ops.>"], subSubjects: ["ops.>"] });
      const sub = await clients.connect(gw.url, token, tokens.user, { name: "subscriber" });
      const pub = await clients.connect(gw.url, token, tokens.user, { name: "publisher" });
      let received = 0;
      let inOrder = true;
      sub.subscribe("ops.data", {
        callback: (_e, m) => {
          if (m.data.length !== 64 || m.data[0] !== received % 256) inOrder = false;
          received++;
        },
      });
      await sub.flush();
      for (let i = 0; i < N; i++) {
        // A fresh buffer each time: the client may hold the payload until it writes.
        const body = new Uint8Array(64);
        body[0] = i % 256;
        pub.publish("ops.data", body);
      }
      await pub.flush(); // PONG: the gateway has routed every message before it

      const signalledAt = Date.now();
      gw.signal(signal);
      const r = await gw.exited;
      const took = Date.now() - signalledAt;
      assert.equal(r.code, 0, r.stderr);
      assert.ok(took < SOFT_SHUTDOWN_MS, `exited in ${took} ms`);
      await sub.closed();
      assert.equal(received, N, "the subscriber got every message published before the signal");
      assert.ok(inOrder, "in order and intact");
      assert.equal(gw.logged("shutting down")[0]?.["signal"], signal);
      assert.equal(gw.logged("aaa-leafnode stopped").length, 1);
      assert.equal(gw.logged(/./).filter((l) => l["level"] === "error").length, 0, r.stderr);
    });
  }
});
