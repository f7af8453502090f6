/**
 * The NATS server version the gateway states on the wire, kept apart from the
 * package version. NATS clients read the INFO `version` to decide what they
 * may use (nats.js derives its feature flags from it: Key-Value from 2.6.2,
 * the named consumer-create API from 2.9.0, and so on), so it must describe
 * what works through the gateway, not how old the gateway is:
 *
 * - while hub links are up, clients see the hub's version (JetStream features
 *   are the hub's), the lowest one when several hubs are connected;
 * - standalone, they see NATS_PROTOCOL_VERSION, the nats-server release whose
 *   client and leafnode protocol the gateway implements and is tested against.
 *
 * The leafnode CONNECT carries NATS_PROTOCOL_VERSION too: the only thing a hub
 * does with it is compare it with its `leafnodes.min_version` (2.8.0 at the
 * lowest), and the leafnode protocol we speak is that release's. The package
 * version stays visible in the INFO field `aaa_leafnode_version`, in /varz and
 * in `--version`. See docs/jetstream.md.
 */

/** The nats-server release whose client and leafnode protocol the gateway speaks. */
export const NATS_PROTOCOL_VERSION = "2.9.10";

/** `major.minor.patch` as numbers, ignoring any pre-release or build suffix; null if not a version. */
export function parseVersion(v: string): [number, number, number] | null {
  const m = /^v?(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:[-+].*)?$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** Negative, zero or positive as `a` is older than, equal to or newer than `b` (both valid versions). */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a)!;
  const y = parseVersion(b)!;
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/**
 * The version clients are told: the lowest valid version among the connected
 * hubs (what every one of them can serve), or NATS_PROTOCOL_VERSION when no
 * hub is connected or none stated a usable version.
 */
export function clientVisibleVersion(hubVersions: Iterable<string | undefined>): string {
  let lowest: string | undefined;
  for (const v of hubVersions) {
    if (v === undefined || parseVersion(v) === null) continue;
    if (lowest === undefined || compareVersions(v, lowest) < 0) lowest = v;
  }
  return lowest ?? NATS_PROTOCOL_VERSION;
}
