/**
 * The Node limit of the connection storm: a bare Node TLS server doing only
 * what a NATS client needs for one connection and one request, the way the
 * gateway's listener starts it (nats-server 2.9.10's order: INFO in clear
 * text, then the TLS handshake), with no routing, no AAA and no per-connection
 * state beyond one subscription id. A gateway's connection cost can approach
 * this process's, not beat it: what is left between them is the gateway's own
 * work (CONNECT checks, JWT and nonce signatures, routing, accounting).
 *
 *   node build/bench/proc/bare_tls.js CERT_FILE KEY_FILE
 *
 * Listens on 127.0.0.1 (ephemeral port, backlog 4096 like the gateway) and
 * prints `listening <port>` on stdout. Per connection: INFO, TLS, then per
 * line: PING → PONG; SUB → remember its sid; PUB subject reply n → after the
 * payload, MSG to the reply subject on the remembered sid (an echo, as the
 * storm's hub responder answers); everything else (CONNECT) is read and ignored.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createSecureContext, TLSSocket } from "node:tls";

const [certFile, keyFile] = process.argv.slice(2);
if (!certFile || !keyFile) {
  process.stderr.write("usage: bare_tls.js CERT_FILE KEY_FILE\n");
  process.exit(2);
}
const context = createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
const INFO = Buffer.from(`INFO ${JSON.stringify({
  server_id: "NODE_LIMIT", server_name: "bench-node-limit", version: "2.9.10", proto: 1, go: "none",
  host: "127.0.0.1", port: 0, headers: true, max_payload: 1_048_576, tls_required: true,
})}\r\n`);
const PONG = Buffer.from("PONG\r\n");
const CRLF = 0x0a;

/** One connection's line reader: the protocol lines of one client, and the payload of a PUB. */
function serve(tls: TLSSocket): void {
  let pending: Buffer = Buffer.alloc(0);
  let sid = "1";
  /** A PUB whose payload (and CRLF) is still being read: its reply subject (null: none) and size. */
  let pub: { reply: string | null; size: number } | null = null;
  tls.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      if (pub !== null) {
        if (pending.length < pub.size + 2) return;
        if (pub.reply !== null) {
          const payload = pending.subarray(0, pub.size + 2);
          tls.write(Buffer.concat([Buffer.from(`MSG ${pub.reply} ${sid} ${pub.size}\r\n`), payload]));
        }
        pending = pending.subarray(pub.size + 2);
        pub = null;
        continue;
      }
      const eol = pending.indexOf(CRLF);
      if (eol < 0) return;
      const line = pending.toString("latin1", 0, eol).trimEnd();
      pending = pending.subarray(eol + 1);
      const op = line.slice(0, 4).toUpperCase();
      if (op === "PING") tls.write(PONG);
      else if (op === "SUB ") sid = line.split(" ").at(-1) ?? sid;
      else if (op === "PUB ") {
        const parts = line.split(" ");
        // PUB subject [reply] size: without a reply there is nobody to answer.
        pub = { reply: parts.length === 4 ? parts[2]! : null, size: Number(parts.at(-1)) };
      }
    }
  });
  tls.on("error", () => tls.destroy());
}

const server = createServer({ noDelay: true }, (socket) => {
  socket.on("error", () => socket.destroy());
  socket.write(INFO);
  const tls = new TLSSocket(socket, { isServer: true, secureContext: context, requestCert: false, rejectUnauthorized: false });
  serve(tls);
});
server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
