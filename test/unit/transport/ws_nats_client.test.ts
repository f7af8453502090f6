/**
 * The official NATS JavaScript client's WebSocket transport (@nats-io/nats-core
 * `wsconnect`, the nats.ws code path) over our listener, wss with compression:
 * it must find INFO as the first message, send CONNECT and PING, get PONG,
 * receive a MSG, and close cleanly (docs/protocol.md#websocket-clients). The AcceptHandler plays
 * a minimal server that answers line by line; the NATS protocol proper belongs
 * to the connection layer and is tested there.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { wsconnect } from "@nats-io/nats-core";
import { startWsListener } from "../../../src/transport/ws_listener.js";
import type { Transport } from "../../../src/transport/transport.js";
import { nullLogger } from "../../../src/obs/log.js";
import { makeCert } from "../../helpers/ws.js";

const info = { server_id: "TEST", version: "2.9.10", proto: 1, headers: true, max_payload: 1048576 };

/** Answers CONNECT/PING/SUB/PUB one line at a time; PUB to a subscribed subject is delivered back. */
function miniServer(transport: Transport, seen: string[]): void {
  transport.write(Buffer.from(`INFO ${JSON.stringify(info)} \r\n`));
  let pending = "";
  const sids = new Map<string, string>();
  let payloadFor: { subject: string; size: number } | null = null;
  transport.onData((chunk) => {
    pending += Buffer.from(chunk).toString("latin1");
    for (;;) {
      if (payloadFor !== null) {
        if (pending.length < payloadFor.size + 2) return;
        const body = pending.slice(0, payloadFor.size);
        pending = pending.slice(payloadFor.size + 2);
        const sid = sids.get(payloadFor.subject);
        if (sid !== undefined) transport.write(Buffer.from(`MSG ${payloadFor.subject} ${sid} ${body.length}\r\n${body}\r\n`));
        payloadFor = null;
        continue;
      }
      const end = pending.indexOf("\r\n");
      if (end < 0) return;
      const line = pending.slice(0, end);
      pending = pending.slice(end + 2);
      seen.push(line);
      const [op, ...args] = line.split(" ");
      if (op === "PING") transport.write(Buffer.from("PONG\r\n"));
      else if (op === "SUB") sids.set(args[0]!, args[args.length - 1]!);
      else if (op === "PUB") payloadFor = { subject: args[0]!, size: Number(args[args.length - 1]) };
    }
  });
}

test("nats-core wsconnect over wss with compression: connect, flush, request a MSG, close", async (t) => {
  const cert = makeCert(t);
  const seen: string[] = [];
  let accepted: Transport | null = null;
  const listener = await startWsListener({
    host: "127.0.0.1",
    port: 0,
    tls: cert,
    allowHosts: null,
    compression: true,
    allowedOrigins: [],
    handshakeTimeout: 5000,
    maxFrameBytes: 1024 * 1024 + 4096,
    log: nullLogger,
    onAccept: (tr) => {
      accepted = tr;
      miniServer(tr, seen);
    },
  });
  t.after(() => listener.close());

  const nc = await wsconnect({
    servers: `wss://127.0.0.1:${listener.port}`,
    reconnect: false,
    // Node 20 has no global WebSocket: hand the client a `ws` one (W3C-compatible
    // API) that trusts the test certificate.
    wsFactory: async (url: string) => ({
      socket: new WebSocket(url, { rejectUnauthorized: false }) as unknown as globalThis.WebSocket,
      encrypted: true,
    }),
  });
  t.after(() => nc.close());
  await nc.flush();

  const sub = nc.subscribe("greet", { max: 1 });
  nc.publish("greet", "hello");
  const got: string[] = [];
  for await (const m of sub) got.push(m.string());
  assert.deepEqual(got, ["hello"]);

  const connect = JSON.parse(seen.find((l) => l.startsWith("CONNECT "))!.slice(8)) as { lang: string; protocol: number };
  assert.equal(connect.lang, "nats.ws");
  assert.equal(connect.protocol, 1);
  assert.ok(seen.includes("PING"));
  assert.ok(accepted !== null && (accepted as Transport).secure);

  await nc.close();
  assert.equal(await nc.closed(), undefined);
  assert.equal(listener.stats.upgrades, 1);
  assert.deepEqual(listener.stats.rejected, {});
  assert.deepEqual(listener.stats.violations, {});
});
