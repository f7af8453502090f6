/**
 * The anonymous-TLS client listener. nats-server 2.9.10 order: the first bytes
 * written (INFO) go out in clear text, then the server-side TLS handshake
 * starts on the same socket; the client shows no certificate and none is asked
 * for. A client that does not complete the handshake in `tlsTimeout` (or
 * speaks plain text) is closed. `tls: null` gives a plain TCP listener, for
 * development and tests only.
 *
 * Handshakes are admitted per peer address, not all started at once: at most
 * `maxHandshakes` from one address run at a time, and a socket from that
 * address accepted beyond that waits (no INFO, no TLS clock running) until one
 * of them is over. In a connection storm from one host the INFO of every
 * accepted socket would otherwise start its handshake clock at once, and the
 * clock would measure the queue in front of the client, on this process and
 * in the client's own process, instead of that client's handshake: a busy
 * client process then cannot answer its later INFOs in time and those clients
 * are dropped. docs/workers.md#connection-storms has the figures.
 *
 * The admission (admission.ts, shared with the login relay) is per address
 * so that nobody can delay anyone else: sockets that never start TLS hold only
 * their own address's slots (each for at most `tlsTimeout`), and other
 * addresses are admitted at once, as without any limit. Waiting is bounded
 * listener-wide (MAX_WAITING sockets of all addresses) and in time
 * (WAIT_TIMEOUT_FACTOR × `tlsTimeout`); a socket beyond either is closed and
 * counted in `refused`.
 */
import { createServer, type Server } from "node:net";
import type { SecureContext } from "node:tls";
import type { AcceptHandler } from "./transport.js";
import type { Logger } from "../obs/log.js";
import { listen, loadContext, type ListenOptions, type ServerTlsFiles } from "./listen.js";
import { SocketTransport } from "./socket_transport.js";
import { Admission, MAX_HANDSHAKES, MAX_WAITING, WAIT_TIMEOUT_FACTOR, type AdmissionRefusalName } from "./admission.js";

export interface TlsListenerOptions {
  host: string;
  port: number;
  tls: ServerTlsFiles | null;
  tlsTimeout: number;
  /** Only these peers may connect (null = everyone). */
  allowHosts: ListenOptions["allowHosts"];
  log: Logger;
  onAccept: AcceptHandler;
  /** TLS handshakes run at once per peer address (default MAX_HANDSHAKES); more accepted sockets of that address wait their turn. */
  maxHandshakes?: number;
  /** Sockets that may wait for a slot, all addresses together (default MAX_WAITING); more are closed at once. */
  maxWaiting?: number;
  /** ms a socket may wait for a slot (default WAIT_TIMEOUT_FACTOR × tlsTimeout); then it is closed. */
  waitTimeout?: number;
}

export interface TlsListener {
  readonly port: number;
  /** Handshakes in progress and accepted sockets waiting for one to finish (all addresses). */
  readonly handshakes: { running: number; waiting: number };
  /** Sockets closed before their handshake, by reason (queue full, waited too long). */
  readonly refused: Readonly<Record<AdmissionRefusalName, number>>;
  /** Stop accepting; existing connections are left to their owners, sockets still waiting are closed. */
  close(): Promise<void>;
  /** Reload the server certificate (SIGHUP). */
  reloadCertificate(tls: ServerTlsFiles): void;
}

export async function startTlsListener(opts: TlsListenerOptions): Promise<TlsListener> {
  let context: SecureContext | null = opts.tls ? loadContext(opts.tls) : null;
  const admission = new Admission({
    perAddress: opts.maxHandshakes ?? MAX_HANDSHAKES,
    maxWaiting: opts.maxWaiting ?? MAX_WAITING,
    waitTimeout: opts.waitTimeout ?? WAIT_TIMEOUT_FACTOR * opts.tlsTimeout,
    log: opts.log,
    start: (socket, settled) => {
      opts.onAccept(new SocketTransport(socket, false, { context: context!, timeout: opts.tlsTimeout, settled }));
      // A socket the accept handler closed before any write never starts its handshake.
      if (socket.destroyed) settled();
    },
  });

  const server: Server = createServer({ noDelay: true }, (socket) => {
    if (socket.destroyed) return; // refused by client_hosts
    if (context === null) opts.onAccept(new SocketTransport(socket, false, null));
    else admission.offer(socket);
  });
  server.on("error", (err) => opts.log.error("client listener error", { error: err }));
  const port = await listen(server, { host: opts.host, port: opts.port, allowHosts: opts.allowHosts, log: opts.log, what: "client" });
  return {
    port,
    get handshakes() {
      return admission.counts;
    },
    refused: admission.refused,
    close: () => new Promise<void>((resolve) => {
      admission.close();
      server.close(() => resolve());
    }),
    reloadCertificate(tls) {
      context = loadContext(tls);
    },
  };
}
