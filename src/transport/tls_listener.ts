/**
 * The anonymous-TLS client listener. nats-server 2.9.10 order: the first bytes
 * written (INFO) go out in clear text, then the server-side TLS handshake
 * starts on the same socket; the client shows no certificate and none is asked
 * for. A client that does not complete the handshake in `tlsTimeout` (or
 * speaks plain text) is closed. `tls: null` gives a plain TCP listener, for
 * development and tests only.
 */
import { createServer, type BlockList, type Server } from "node:net";
import type { SecureContext } from "node:tls";
import type { AcceptHandler } from "./transport.js";
import type { Logger } from "../obs/log.js";
import { listen, loadContext } from "./listen.js";
import { SocketTransport } from "./socket_transport.js";

export interface TlsListenerOptions {
  host: string;
  port: number;
  tls: { cert: string; key: string } | null;
  tlsTimeout: number;
  /** Only these peers may connect (null = everyone). */
  allowHosts: BlockList | null;
  log: Logger;
  onAccept: AcceptHandler;
}

export interface TlsListener {
  readonly port: number;
  /** Stop accepting; existing connections are left to their owners. */
  close(): Promise<void>;
  /** Reload the server certificate (SIGHUP). */
  reloadCertificate(tls: { cert: string; key: string }): void;
}

export async function startTlsListener(opts: TlsListenerOptions): Promise<TlsListener> {
  let context: SecureContext | null = opts.tls ? loadContext(opts.tls) : null;
  const server: Server = createServer({ noDelay: true }, (socket) => {
    if (socket.destroyed) return; // refused by client_hosts
    const upgrade = context === null ? null : { context, timeout: opts.tlsTimeout };
    opts.onAccept(new SocketTransport(socket, false, upgrade));
  });
  server.on("error", (err) => opts.log.error("client listener error", { error: err }));
  const port = await listen(server, { host: opts.host, port: opts.port, allowHosts: opts.allowHosts, log: opts.log, what: "client" });
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    reloadCertificate(tls) {
      context = loadContext(tls);
    },
  };
}
