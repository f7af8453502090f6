/**
 * The anonymous-TLS client listener. nats-server 2.9.10 order: the first bytes
 * written (INFO) go out in clear text, then the server-side TLS handshake
 * starts on the same socket; the client shows no certificate and none is asked
 * for. A client that does not complete the handshake in `tlsTimeout` (or
 * speaks plain text) is closed. `tls: null` gives a plain TCP listener, for
 * development and tests only.
 *
 * Handshakes are admitted, not all started at once: at most `maxHandshakes`
 * run at a time, and a socket accepted beyond that waits (no INFO, no TLS
 * clock running) until one of them is over. In a connection storm the INFO of
 * every accepted socket would otherwise start its handshake clock at once, and
 * the clock would measure the queue in front of the client, on this process
 * and in the client's own process, instead of that client's handshake: a busy
 * client process then cannot answer its later INFOs in time and those clients
 * are dropped. docs/workers.md#connection-storms has the figures.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { SecureContext } from "node:tls";
import type { AcceptHandler } from "./transport.js";
import type { Logger } from "../obs/log.js";
import { listen, loadContext, type ListenOptions, type ServerTlsFiles } from "./listen.js";
import { SocketTransport } from "./socket_transport.js";

/**
 * TLS handshakes in progress per listener (per process). A handshake costs the
 * server 1-2 ms of CPU and a Node client 4-8 ms, so 64 at once are well under
 * a second of work even for one busy client process: the default 2 s
 * `tls_timeout` then measures a client's own handshake, not a queue. It still
 * keeps a core busy: at 100 ms per handshake (a slow network) 64 in progress
 * are 640 handshakes/s, more than a core completes.
 */
export const MAX_HANDSHAKES = 64;

export interface TlsListenerOptions {
  host: string;
  port: number;
  tls: ServerTlsFiles | null;
  tlsTimeout: number;
  /** Only these peers may connect (null = everyone). */
  allowHosts: ListenOptions["allowHosts"];
  log: Logger;
  onAccept: AcceptHandler;
  /** TLS handshakes run at once (default MAX_HANDSHAKES); more accepted sockets wait their turn. */
  maxHandshakes?: number;
}

export interface TlsListener {
  readonly port: number;
  /** Handshakes in progress and accepted sockets waiting for one to finish. */
  readonly handshakes: { running: number; waiting: number };
  /** Stop accepting; existing connections are left to their owners, sockets still waiting are closed. */
  close(): Promise<void>;
  /** Reload the server certificate (SIGHUP). */
  reloadCertificate(tls: ServerTlsFiles): void;
}

export async function startTlsListener(opts: TlsListenerOptions): Promise<TlsListener> {
  let context: SecureContext | null = opts.tls ? loadContext(opts.tls) : null;
  const limit = Math.max(1, opts.maxHandshakes ?? MAX_HANDSHAKES);
  let running = 0;
  const waiting = new Set<Socket>();

  const start = (socket: Socket): void => {
    if (context === null) {
      opts.onAccept(new SocketTransport(socket, false, null));
      return;
    }
    running++;
    let done = false;
    const settled = (): void => {
      if (done) return;
      done = true;
      running--;
      admit();
    };
    opts.onAccept(new SocketTransport(socket, false, { context, timeout: opts.tlsTimeout, settled }));
    // A socket the accept handler closed before any write never starts its handshake.
    if (socket.destroyed) settled();
  };
  /** Start waiting sockets, oldest first, while there is room; a waiter that went away is skipped. */
  const admit = (): void => {
    for (const socket of waiting) {
      if (running >= limit) return;
      waiting.delete(socket);
      socket.off("close", forget);
      if (!socket.destroyed) start(socket);
    }
  };
  function forget(this: Socket): void {
    waiting.delete(this);
  }

  const server: Server = createServer({ noDelay: true }, (socket) => {
    if (socket.destroyed) return; // refused by client_hosts
    if (context !== null && running >= limit) {
      socket.on("error", () => {}); // a waiting peer that resets is just forgotten
      socket.once("close", forget);
      waiting.add(socket);
      return;
    }
    start(socket);
  });
  server.on("error", (err) => opts.log.error("client listener error", { error: err }));
  const port = await listen(server, { host: opts.host, port: opts.port, allowHosts: opts.allowHosts, log: opts.log, what: "client" });
  return {
    port,
    get handshakes() {
      return { running, waiting: waiting.size };
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of waiting) socket.destroy();
      waiting.clear();
      server.close(() => resolve());
    }),
    reloadCertificate(tls) {
      context = loadContext(tls);
    },
  };
}
