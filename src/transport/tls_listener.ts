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
 * The limit is per address so that nobody can delay anyone else: sockets that
 * never start TLS hold only their own address's slots (each for at most
 * `tlsTimeout`), and other addresses are admitted at once, as without any
 * limit. The queue of one address is bounded (MAX_WAITING); beyond it a socket
 * is closed at once.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { SecureContext } from "node:tls";
import type { AcceptHandler } from "./transport.js";
import type { Logger } from "../obs/log.js";
import { listen, loadContext, type ListenOptions, type ServerTlsFiles } from "./listen.js";
import { SocketTransport } from "./socket_transport.js";

/**
 * TLS handshakes in progress per peer address. A handshake costs the
 * server 1-2 ms of CPU and a Node client 4-8 ms, so 64 at once are well under
 * a second of work even for one busy client process: the default 2 s
 * `tls_timeout` then measures a client's own handshake, not a queue. It still
 * keeps a core busy: at 100 ms per handshake (a slow network) 64 in progress
 * are 640 handshakes/s, more than a core completes.
 */
export const MAX_HANDSHAKES = 64;

/** Accepted sockets of one address waiting for a handshake slot; more are closed at once. */
export const MAX_WAITING = 4096;

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
  /** Sockets of one address that may wait for a slot (default MAX_WAITING); more are closed at once. */
  maxWaiting?: number;
}

export interface TlsListener {
  readonly port: number;
  /** Handshakes in progress and accepted sockets waiting for one to finish (all addresses). */
  readonly handshakes: { running: number; waiting: number };
  /** Stop accepting; existing connections are left to their owners, sockets still waiting are closed. */
  close(): Promise<void>;
  /** Reload the server certificate (SIGHUP). */
  reloadCertificate(tls: ServerTlsFiles): void;
}

export async function startTlsListener(opts: TlsListenerOptions): Promise<TlsListener> {
  let context: SecureContext | null = opts.tls ? loadContext(opts.tls) : null;
  const limit = Math.max(1, opts.maxHandshakes ?? MAX_HANDSHAKES);
  const maxWaiting = opts.maxWaiting ?? MAX_WAITING;
  /** Per peer address: handshakes in progress and sockets waiting, oldest first. */
  const peers = new Map<string, { running: number; waiting: Set<Socket> }>();

  const peerOf = (address: string) => {
    let p = peers.get(address);
    if (p === undefined) peers.set(address, (p = { running: 0, waiting: new Set() }));
    return p;
  };
  /** Forget an address with nothing running or waiting (the map holds only active peers). */
  const tidy = (address: string, p: { running: number; waiting: Set<Socket> }): void => {
    if (p.running === 0 && p.waiting.size === 0) peers.delete(address);
  };

  const start = (socket: Socket, address: string): void => {
    if (context === null) {
      opts.onAccept(new SocketTransport(socket, false, null));
      return;
    }
    const p = peerOf(address);
    p.running++;
    let done = false;
    const settled = (): void => {
      if (done) return;
      done = true;
      p.running--;
      admit(address, p);
    };
    opts.onAccept(new SocketTransport(socket, false, { context, timeout: opts.tlsTimeout, settled }));
    // A socket the accept handler closed before any write never starts its handshake.
    if (socket.destroyed) settled();
  };
  /** Start this address's waiting sockets, oldest first, while it has room; a waiter that went away is skipped. */
  const admit = (address: string, p: { running: number; waiting: Set<Socket> }): void => {
    for (const socket of p.waiting) {
      if (p.running >= limit) return;
      p.waiting.delete(socket);
      socket.off("close", forget);
      if (!socket.destroyed) start(socket, address);
    }
    tidy(address, p);
  };
  function forget(this: Socket): void {
    // The peer address was read at accept, so Node still has it after the close.
    const address = this.remoteAddress ?? "";
    const p = peers.get(address);
    if (p?.waiting.delete(this)) tidy(address, p);
  }

  const server: Server = createServer({ noDelay: true }, (socket) => {
    if (socket.destroyed) return; // refused by client_hosts
    const address = socket.remoteAddress ?? "";
    if (context !== null) {
      const p = peers.get(address);
      if (p !== undefined && p.running >= limit) {
        socket.on("error", () => {}); // a waiting peer that resets is just forgotten
        if (p.waiting.size >= maxWaiting) {
          socket.destroy();
          return;
        }
        socket.once("close", forget);
        p.waiting.add(socket);
        return;
      }
    }
    start(socket, address);
  });
  server.on("error", (err) => opts.log.error("client listener error", { error: err }));
  const port = await listen(server, { host: opts.host, port: opts.port, allowHosts: opts.allowHosts, log: opts.log, what: "client" });
  return {
    port,
    get handshakes() {
      let running = 0;
      let waiting = 0;
      for (const p of peers.values()) {
        running += p.running;
        waiting += p.waiting.size;
      }
      return { running, waiting };
    },
    close: () => new Promise<void>((resolve) => {
      for (const p of peers.values()) {
        for (const socket of p.waiting) {
          socket.off("close", forget);
          socket.destroy();
        }
        p.waiting.clear();
      }
      server.close(() => resolve());
    }),
    reloadCertificate(tls) {
      context = loadContext(tls);
    },
  };
}
