/**
 * Hub loss and return: the hub is killed and restarted on the same ports while
 * the leaf keeps publishing. Publishes made during the outage are buffered up
 * to the bound and delivered in order after reconnect and interest replay; the
 * rest are refused and counted, with one log line per outage. A TCP gate in
 * front of the leafnode port (the hub advertises the gate, so the leaf never
 * learns a way around it) lets the test make the hub subscriber ready before
 * the leaf may reconnect, so nothing depends on timing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Msg } from "@nats-io/transport-node";
import { LeafConn } from "../../src/upstream/leaf_conn.js";
import { createLogger, LevelControl, MemorySink } from "../../src/obs/log.js";
import { getPki } from "../helpers/pki.js";
import { leafRemoteFor, startHub, waitFor } from "../helpers/hub.js";
import { startGate } from "../helpers/gate.js";
import { localSide } from "../helpers/local_side.js";


const enc = (s: string): Uint8Array => Buffer.from(s);

test("reconnect after a hub restart on the same ports: interest replayed, outage buffer flushed in order, overflow counted", async (t) => {
  const pki = await getPki();
  let leafPort = 0;
  const gate = await startGate(() => leafPort);
  t.after(() => gate.close());
  const hub = await startHub({ pki, leafAdvertise: `127.0.0.1:${gate.port}` });
  t.after(() => hub.stop());
  leafPort = hub.leafPort;

  const logs = new MemorySink();
  const received: string[] = [];
  const states: boolean[] = [];
  const leaf = new LeafConn({
    remote: leafRemoteFor(hub, pki, { urls: [`tls://127.0.0.1:${gate.port}`] }),
    serverName: "gw-reconnect",
    version: "0.1.0",
    bufferBytes: 8 * 1024,
    reconnectBaseDelay: 50,
    reconnectMaxDelay: 200,
    pingInterval: 1000,
    pingMax: 3,
    log: createLogger(logs, new LevelControl("debug")),
    local: localSide(() => [{ subject: "down.>", queue: undefined, weight: 1 }], (subject, _reply, _queues, _hdrLen, payload) => received.push(`${subject}:${Buffer.from(payload).toString()}`)),
    onStateChange: (c) => states.push(c),
    timeouts: { register: 5000 },
  });
  leaf.start();
  t.after(() => leaf.stop());
  await waitFor("first connect", () => leaf.connected || undefined);

  // The outage. The hub is killed; its clients go with it.
  await hub.kill();
  await waitFor("link loss noticed", () => (!leaf.connected ? true : undefined));
  gate.open = false;

  const payload = "x".repeat(100);
  const accepted: string[] = [];
  let refused = 0;
  for (let i = 0; i < 100; i++) {
    if (leaf.forward(`out.${i}`, undefined, -1, enc(payload), null)) accepted.push(`out.${i}`);
    else refused++;
  }
  assert.ok(accepted.length > 10 && refused > 10, `accepted ${accepted.length}, refused ${refused}`);
  // Only the oldest are kept: refusal starts at the bound and never lets a later one in.
  assert.deepEqual(accepted, Array.from({ length: accepted.length }, (_, i) => `out.${i}`));
  assert.equal(leaf.stats.bufferedMsgs, accepted.length);
  assert.equal(leaf.stats.droppedMsgs, refused);
  assert.equal(leaf.stats.droppedBytes, refused * payload.length);
  assert.equal(logs.records().filter((r) => r.msg === "upstream buffer full, dropping publishes until the hub is back").length, 1);

  // The hub returns on the same ports; its subscriber is ready before the leaf may come back.
  await hub.start();
  assert.equal(hub.leafPort, leafPort);
  const client = await connect({ servers: hub.clientUrl, name: "after-restart" });
  t.after(() => client.close());
  const got: Msg[] = [];
  client.subscribe("out.>", { callback: (err, m) => { if (!err) got.push(m); } });
  await client.flush();
  gate.open = true;

  await waitFor("reconnect", () => leaf.connected || undefined, 20000);
  await waitFor("all buffered publishes at the hub", () => (got.length >= accepted.length ? true : undefined), 20000);
  assert.deepEqual(got.map((m) => m.subject), accepted);
  assert.equal(leaf.stats.bufferedMsgs, 0);
  assert.equal(leaf.stats.reconnects, 1);
  assert.deepEqual(states, [true, false, true]);

  // Interest was replayed: a hub publish reaches the leaf again.
  client.publish("down.again", enc("back"));
  await client.flush();
  await waitFor("hub publish after reconnect", () => (received.includes("down.again:back") ? true : undefined));

  // Failed attempts while the gate was closed were logged and retried, not thrown.
  assert.ok(logs.records().some((r) => r.msg === "upstream connect failed"));
  assert.ok(logs.records().some((r) => r.msg === "upstream connection lost"));
});
