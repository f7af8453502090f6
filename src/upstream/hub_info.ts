/**
 * The hub's INFO, parsed once into the fields the leaf connection uses. Every
 * field is optional and type-checked: a field of the wrong type reads as
 * absent, and fields we do not know (newer hubs add some in every release) are
 * ignored, so no INFO a hub sends can break the link by its shape. What each
 * field means and which hub versions send it: docs/leafnode.md.
 */

export interface HubInfo {
  serverId: string | undefined;
  serverName: string | undefined;
  version: string | undefined;
  /** Our connection id at the hub; 0 or absent on a client port. */
  clientId: number;
  nonce: string | undefined;
  maxPayload: number;
  /** The hub can carry headers (HMSG); undefined when this INFO does not say. */
  headers: boolean | undefined;
  tlsRequired: boolean;
  /** The hub confirms our CONNECT with a second INFO (2.2+). */
  infoOnConnect: boolean;
  /** This INFO is that confirmation. */
  connectInfo: boolean;
  /** Other leafnode endpoints of the hub's cluster (`host:port`). */
  leafnodeUrls: readonly string[] | undefined;
  /** Raw grants from the confirmation INFO (`{"allow":[…],"deny":[…]}`). */
  import: unknown;
  export: unknown;
  remoteAccount: string | undefined;
  cluster: string | undefined;
  /** The hub's JetStream domain (2.9+), when it has one. */
  domain: string | undefined;
  /**
   * The hub's leafnode compression offer (2.10+): a mode name such as
   * "s2_auto", "off", or absent (hubs before 2.10).
   */
  compression: string | undefined;
  /** Lame duck mode announced by the hub. */
  lameDuck: boolean;
  /** The account we are bound to is the hub's system account (2.12+ say so in connect_info). */
  accountIsSystem: boolean;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const bool = (v: unknown, dflt: boolean): boolean => (typeof v === "boolean" ? v : dflt);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);

/** From the JSON of an INFO line; throws only when the JSON itself is not an object. */
export function parseHubInfo(json: string | Record<string, unknown>): HubInfo {
  const raw = typeof json === "string" ? (JSON.parse(json) as unknown) : json;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error("INFO is not a JSON object");
  const o = raw as Record<string, unknown>;
  return {
    serverId: str(o.server_id),
    serverName: str(o.server_name),
    version: str(o.version),
    clientId: num(o.client_id),
    nonce: str(o.nonce),
    maxPayload: num(o.max_payload),
    headers: typeof o.headers === "boolean" ? o.headers : undefined,
    tlsRequired: bool(o.tls_required, false),
    infoOnConnect: bool(o.info_on_connect, false),
    connectInfo: bool(o.connect_info, false),
    leafnodeUrls: Array.isArray(o.leafnode_urls) ? o.leafnode_urls.filter((u): u is string => typeof u === "string") : undefined,
    import: o.import,
    export: o.export,
    remoteAccount: str(o.remote_account),
    cluster: str(o.cluster),
    domain: str(o.domain),
    compression: str(o.compression),
    lameDuck: bool(o.ldm, false),
    accountIsSystem: bool(o.acc_is_sys, false),
  };
}

/**
 * A leafnode port's INFO carries our connection id and leafnode_urls; a client
 * port's does not. Go solicitors refuse such a peer as "wrong port", and so do we.
 */
export function isLeafnodeInfo(info: HubInfo): boolean {
  return info.clientId > 0 && info.leafnodeUrls !== undefined;
}
