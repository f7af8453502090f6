/**
 * The one way every listener of the gateway (client TLS port, WebSocket port,
 * login relay) starts listening: the server certificate loaded the same way,
 * a deep accept queue, and `client_hosts` enforced on each accepted socket
 * before anything else happens to it (no TLS handshake, no HTTP upgrade, no
 * INFO): what the allow list does not name is dropped at once.
 */
import { readFileSync } from "node:fs";
import { BlockList, type Server, type Socket } from "node:net";
import { createSecureContext, type SecureContext } from "node:tls";
import type { Logger } from "../obs/log.js";

/** A connection storm must not overflow the accept queue (Node defaults to 511; nats-server uses 4096). */
const BACKLOG = 4096;

/** The server certificate and key (PEM files) as a TLS context; throws if the files are bad. */
export function loadContext(tls: { cert: string; key: string }): SecureContext {
  return createSecureContext({ cert: readFileSync(tls.cert), key: readFileSync(tls.key), minVersion: "TLSv1.2" });
}

/** `client_hosts` (addresses and CIDR blocks) as an allow list; null when empty (everyone may connect). */
export function buildAllowList(cidrs: string[]): BlockList | null {
  if (cidrs.length === 0) return null;
  const list = new BlockList();
  for (const entry of cidrs) {
    const [addr, bits] = entry.split("/");
    const type = addr!.includes(":") ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(addr!, type);
    else list.addSubnet(addr!, Number(bits), type);
  }
  return list;
}

/** Whether a peer address is on the allow list (IPv4-mapped IPv6 addresses match IPv4 entries). */
export function isAllowedPeer(allow: BlockList | null, address: string | undefined): boolean {
  if (allow === null) return true;
  if (!address) return false;
  return allow.check(address, address.includes(":") ? "ipv6" : "ipv4");
}

export interface ListenOptions {
  host: string;
  /** 0 = ephemeral (tests). */
  port: number;
  /** Only these peers may connect (null = everyone). */
  allowHosts: BlockList | null;
  log: Logger;
  /** Names the listener in log lines ("client", "websocket", "login relay"). */
  what: string;
}

/**
 * Guards `server` with the allow list and starts listening; resolves with the
 * bound port. A refused socket is destroyed before any other "connection"
 * listener runs, so handlers of a net.Server should skip destroyed sockets;
 * http and https servers do so by themselves.
 */
export async function listen(server: Server, opts: ListenOptions): Promise<number> {
  const allow = opts.allowHosts;
  if (allow !== null) {
    server.prependListener("connection", (socket: Socket) => {
      if (isAllowedPeer(allow, socket.remoteAddress)) return;
      opts.log.warn("connection from a host outside client_hosts refused", { listener: opts.what, remote: socket.remoteAddress });
      socket.destroy();
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: opts.port, host: opts.host, backlog: BACKLOG }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  return typeof addr === "object" && addr !== null ? addr.port : opts.port;
}
