/**
 * A connection storm on worker mode: a real `aaa-leafnode run` child with two
 * workers behind a real nats-server hub, and 600 official NATS clients (each
 * with its own AAA token and nonce signature) opened at once from this one
 * process, which is as busy with their handshakes as a storm's client process
 * is. Every client must complete TLS, CONNECT and PING/PONG and get a reply
 * from a responder on the hub; both workers take a share (the workers accept
 * from the shared socket themselves, docs/workers.md#connection-storms), the
 * primary says which scheduling it uses, and /varz counts every client.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Pki } from "../helpers/pki.js";
import { startHubWithClient, stopHubWithClient, waitFor, type Hub } from "../helpers/hub.js";
import { tokenWorld, writeSignerFiles } from "../helpers/tokens.js";
import { baseConf, Clients, hubRemoteLines, httpGet, opsDir, spawnGateway } from "./ops_world.js";

const CLIENTS = 600;
const W = "plugin.choria.network.aaa_leafnode.";

function serverId(nc: NatsConnection): string {
  return String((nc as unknown as { info?: { server_id?: string } }).info?.server_id ?? "");
}

describe("worker mode connection storm", () => {
  let pki: Pki;
  let hub: Hub;
  let hubClient: NatsConnection;

  before(async () => {
    ({ pki, hub, hubClient } = await startHubWithClient("storm-hub"));
  });
  after(() => stopHubWithClient(hub, hubClient));

  test(`${CLIENTS} TLS clients at once on two workers: all connect, PING/PONG and get a reply through the hub`, async (t) => {
    const dir = opsDir(t, "aaa-storm-");
    const tokens = tokenWorld();
    const { publicKeyPath } = writeSignerFiles(tokens.signer, dir, "signer");
    // The default tls_timeout and auth_timeout (2 s): the storm must fit them, not longer ones.
    const lines = baseConf(pki, [publicKeyPath], [`${W}workers = 2`, ...hubRemoteLines(pki, hub)]);
    const gw = await spawnGateway(t, dir, lines);
    const started = gw.logged("aaa-leafnode started").find((r) => r["worker"] === undefined);
    assert.equal(started?.["scheduling"], "none", "the workers accept connections themselves");
    await waitFor("/readyz 200", async () => ((await httpGet(gw.statsPort!, "/readyz")).status === 200 ? true : undefined), 30_000);
    await waitFor("two leafnode links on the hub", async () => (Number((await hub.leafz())["leafnodes"] ?? 0) >= 2 ? true : undefined), 30_000);

    hubClient.subscribe("storm.echo", { callback: (_e, m) => void m.respond(m.data) });
    await hubClient.flush();

    const clients = new Clients(t, pki);
    const results = await Promise.allSettled(Array.from({ length: CLIENTS }, async (_, i) => {
      const token = tokens.mint({ callerid: `up=storm-${i}`, pubSubjects: ["storm.>"], subSubjects: ["storm.>"] });
      const nc = await clients.connect(gw.url, token, tokens.user, { name: `storm-${i}`, reconnect: false, timeout: 60_000 });
      await nc.flush(); // PING → PONG
      return nc;
    }));
    const failed = results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason));
    assert.deepEqual(failed, [], `${failed.length} of ${CLIENTS} clients failed`);
    const conns = results.map((r) => (r as PromiseFulfilledResult<NatsConnection>).value);

    const perWorker = new Map<string, number>();
    for (const nc of conns) perWorker.set(serverId(nc), (perWorker.get(serverId(nc)) ?? 0) + 1);
    assert.equal(perWorker.size, 2, `both workers took clients (${[...perWorker.values()].join(" / ")})`);

    // Each one's interest reached the hub through its own worker's link: a request gets its reply.
    await waitFor("a request through the hub", async () => {
      try {
        await conns[0]!.request("storm.echo", new Uint8Array([1]), { timeout: 1000 });
        return true;
      } catch {
        return undefined;
      }
    }, 30_000);
    const replies = await Promise.allSettled(conns.map((nc) => nc.request("storm.echo", new Uint8Array([1]), { timeout: 30_000 })));
    assert.equal(replies.filter((r) => r.status === "fulfilled").length, CLIENTS, "every client got its reply");

    const varz = JSON.parse((await httpGet(gw.statsPort!, "/varz")).body) as { connections: number; worker_details: { connections: number }[] };
    assert.equal(varz.connections, CLIENTS);
    assert.ok(varz.worker_details.every((d) => d.connections > 0), "each worker holds some of the clients");
  });
});
