/**
 * The hub endpoints a leaf connection may dial: the configured remote URLs
 * (`nats://`, `tls://`, `nats-leaf://` or bare `host:port`, default port 7422)
 * followed by the `leafnode_urls` the hub advertises in INFO, deduplicated by
 * host:port and tried in rotation, so losing one hub of a cluster fails over
 * to the next (docs/protocol.md#handshake and #leaf-errors).
 */
import { ConfigError } from "../errors.js";

export interface RemoteUrl {
  host: string;
  port: number;
  /** TLS even if the hub's INFO does not ask for it (tls:// scheme). */
  tlsScheme: boolean;
  /** Learned from the hub rather than configured. */
  discovered: boolean;
  /** host:port, for logs and deduplication. */
  readonly label: string;
}

const DEFAULT_LEAF_PORT = 7422;

export function parseRemoteUrl(text: string, discovered = false): RemoteUrl {
  const raw = text.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `nats://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`invalid leafnode remote URL ${JSON.stringify(text)}`);
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (!["nats", "tls", "nats-leaf", "leafnode"].includes(scheme)) {
    throw new ConfigError(`unsupported leafnode remote URL scheme ${JSON.stringify(scheme)} in ${JSON.stringify(text)}`);
  }
  // URL keeps IPv6 hosts bracketed; sockets and certificate checks want them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw new ConfigError(`leafnode remote URL ${JSON.stringify(text)} has no host`);
  const port = url.port === "" ? DEFAULT_LEAF_PORT : Number(url.port);
  const label = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, tlsScheme: scheme === "tls", discovered, label };
}

export class RemoteUrlList {
  private readonly list: RemoteUrl[];
  private index = 0;

  constructor(configured: readonly string[]) {
    this.list = [];
    for (const u of configured) this.addUnique(parseRemoteUrl(u));
    if (this.list.length === 0) throw new ConfigError("leafnode remote has no URLs");
  }

  get size(): number {
    return this.list.length;
  }

  all(): readonly RemoteUrl[] {
    return this.list;
  }

  /** The URL for the next attempt, rotating through the list. */
  next(): RemoteUrl {
    const u = this.list[this.index % this.list.length]!;
    this.index = (this.index + 1) % this.list.length;
    return u;
  }

  /** Start the next rotation at this URL again (the one that just worked). */
  preferNext(url: RemoteUrl): void {
    const i = this.list.indexOf(url);
    if (i >= 0) this.index = i;
  }

  /** Add the hub's advertised `host:port` entries; bad entries are skipped. Returns how many were new. */
  addDiscovered(hostPorts: readonly unknown[], tlsScheme: boolean): number {
    let added = 0;
    for (const hp of hostPorts) {
      if (typeof hp !== "string") continue;
      try {
        const u = parseRemoteUrl(hp, true);
        u.tlsScheme = tlsScheme;
        if (this.addUnique(u)) added++;
      } catch {
        // An unusable advertised URL is not a reason to drop a working link.
      }
    }
    return added;
  }

  private addUnique(u: RemoteUrl): boolean {
    if (this.list.some((x) => x.label === u.label)) return false;
    this.list.push(u);
    return true;
  }
}
