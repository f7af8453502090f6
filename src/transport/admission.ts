/**
 * Admission of accepted sockets to their pre-login phase, per peer address,
 * shared by the client TLS listener and the login relay: at most
 * `perAddress` sockets of one address are in that phase at once (the TLS
 * handshake on the client port; the whole connection on the login relay).
 * A socket of that address accepted beyond it waits for a place, or is closed
 * at once when it may not wait. Waiting is bounded twice: listener-wide
 * (`maxWaiting` sockets of all addresses together, so neither one address nor
 * many cheap IPv6 addresses can hold more file descriptors than that) and in
 * time (`waitTimeout`, so a waiting socket is closed when no place came free).
 * Every socket closed here is counted by reason in `refused` and logged (a
 * warning at most every 10 s, with the totals).
 *
 * The limit is per address so that nobody delays anyone else: sockets that
 * never finish their phase hold only their own address's places, and other
 * addresses are admitted at once. docs/isolation.md#before-login has the figures.
 */
import type { Socket } from "node:net";
import type { Logger } from "../obs/log.js";

/**
 * TLS handshakes in progress per peer address. A handshake costs the
 * server 1-2 ms of CPU and a Node client 4-8 ms, so 64 at once are well under
 * a second of work even for one busy client process: the default 2 s
 * `tls_timeout` then measures a client's own handshake, not a queue. It still
 * keeps a core busy: at 100 ms per handshake (a slow network) 64 in progress
 * are 640 handshakes/s, more than a core completes.
 */
export const MAX_HANDSHAKES = 64;

/**
 * Accepted sockets waiting for a place, all addresses together (one file
 * descriptor each); more are closed at once. Room for a storm of 2,000
 * connections from one address (the benchmark's, or a busy NAT after a
 * restart), 64 of them in their handshake and the rest waiting. At 1,024 the
 * benchmark's 2,000-client storm lost a quarter of its clients whenever they
 * connected faster than the handshakes finished.
 */
export const MAX_WAITING = 2048;

/**
 * A socket waits at most this many `tls_timeout`s for a place (10 s with the
 * default 2 s): the tail of a 1,000-connection storm from one busy client is
 * admitted within it, a silent socket is gone after it.
 */
export const WAIT_TIMEOUT_FACTOR = 5;

/** Why a socket was closed before its pre-login phase; the keys of `refused`. */
export const AdmissionRefusal = {
  /** Its address already had `perAddress` sockets in the phase and it may not wait (login relay). */
  AddressBusy: "address_busy",
  /** `maxWaiting` sockets were already waiting. */
  QueueFull: "queue_full",
  /** It waited `waitTimeout` without a place coming free. */
  QueueTimeout: "queue_timeout",
} as const;
export type AdmissionRefusalName = (typeof AdmissionRefusal)[keyof typeof AdmissionRefusal];

export interface AdmissionOptions {
  /** Sockets of one address in their pre-login phase at once. */
  perAddress: number;
  /** Sockets that may wait for a place, all addresses together; 0 = none wait. */
  maxWaiting: number;
  /** ms a socket may wait for a place. */
  waitTimeout: number;
  log: Logger;
  /** Starts the phase of an admitted socket; `settled` is to be called once when it is over. */
  start(socket: Socket, settled: () => void): void;
}

interface Peer {
  running: number;
  /** Waiting sockets, oldest first, with their deadline timer and close listener. */
  waiting: Map<Socket, { timer: NodeJS.Timeout; gone: () => void }>;
}

const WARN_EVERY_MS = 10_000;
const ignore = (): void => {};

export class Admission {
  readonly refused: Record<AdmissionRefusalName, number> = { address_busy: 0, queue_full: 0, queue_timeout: 0 };
  private readonly peers = new Map<string, Peer>();
  private waitingTotal = 0;
  private lastWarn = 0;
  private readonly limit: number;

  constructor(private readonly opts: AdmissionOptions) {
    this.limit = Math.max(1, opts.perAddress);
  }

  /** Sockets in their phase and sockets waiting for a place (all addresses). */
  get counts(): { running: number; waiting: number } {
    let running = 0;
    for (const p of this.peers.values()) running += p.running;
    return { running, waiting: this.waitingTotal };
  }

  /** A newly accepted socket: started now, queued, or closed. */
  offer(socket: Socket): void {
    const address = socket.remoteAddress ?? "";
    const p = this.peers.get(address);
    if (p === undefined || p.running < this.limit) return this.run(socket, address);
    socket.on("error", ignore); // a waiting peer that resets is just forgotten
    if (this.opts.maxWaiting === 0) return this.refuse(socket, AdmissionRefusal.AddressBusy);
    if (this.waitingTotal >= this.opts.maxWaiting) return this.refuse(socket, AdmissionRefusal.QueueFull);
    const timer = setTimeout(() => this.expire(socket, address), this.opts.waitTimeout);
    // The peer went away while waiting: forget it.
    const gone = (): void => {
      if (!p.waiting.has(socket)) return;
      this.unqueue(p, socket);
      this.tidy(address, p);
    };
    p.waiting.set(socket, { timer, gone });
    this.waitingTotal++;
    socket.once("close", gone);
  }

  /** Closes every waiting socket (the listener stops); sockets in their phase belong to their owners. */
  close(): void {
    for (const p of this.peers.values()) {
      for (const [socket, w] of p.waiting) {
        clearTimeout(w.timer);
        socket.off("close", w.gone);
        socket.destroy();
      }
      p.waiting.clear();
    }
    this.waitingTotal = 0;
  }

  private run(socket: Socket, address: string): void {
    let p = this.peers.get(address);
    if (p === undefined) this.peers.set(address, (p = { running: 0, waiting: new Map() }));
    p.running++;
    let done = false;
    const peer = p;
    this.opts.start(socket, () => {
      if (done) return;
      done = true;
      peer.running--;
      this.admit(address, peer);
    });
  }

  /** Starts this address's waiting sockets, oldest first, while it has room; a waiter that went away is skipped. */
  private admit(address: string, p: Peer): void {
    for (const socket of p.waiting.keys()) {
      if (p.running >= this.limit) return;
      this.unqueue(p, socket);
      if (!socket.destroyed) this.run(socket, address);
    }
    this.tidy(address, p);
  }

  private unqueue(p: Peer, socket: Socket): void {
    const w = p.waiting.get(socket);
    if (w === undefined) return;
    clearTimeout(w.timer);
    socket.off("close", w.gone);
    p.waiting.delete(socket);
    this.waitingTotal--;
  }

  private expire(socket: Socket, address: string): void {
    const p = this.peers.get(address);
    if (p === undefined || !p.waiting.has(socket)) return;
    this.unqueue(p, socket);
    this.tidy(address, p);
    this.refuse(socket, AdmissionRefusal.QueueTimeout);
  }

  /** Forget an address with nothing running or waiting (the map holds only active peers). */
  private tidy(address: string, p: Peer): void {
    if (p.running === 0 && p.waiting.size === 0) this.peers.delete(address);
  }

  private refuse(socket: Socket, reason: AdmissionRefusalName): void {
    this.refused[reason]++;
    socket.destroy();
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    this.opts.log.warn("socket closed before its handshake", { reason, remote: socket.remoteAddress, refused: { ...this.refused } });
  }
}
