/**
 * `aaa-leafnode check --connect`: dial every configured URL of every remote
 * once, the way the running gateway does (the same LeafConn: clear INFO, mTLS,
 * CONNECT, registration), and report each as connected or as the failure's
 * sentence from upstream/link_failure.ts, which says who refused what and
 * names the keys to change. Nothing is retried and no interest is sent; each
 * probe stops as soon as it registers or fails, or after the dial deadlines.
 */
import type { GatewayConfig, LeafRemoteConfig } from "../config/types.js";
import { upstreamOptions } from "../config/parts.js";
import { DEFAULTS } from "../config/defaults.js";
import { NATS_PROTOCOL_VERSION } from "../nats_version.js";
import { nullLogger } from "../obs/log.js";
import { LeafConn } from "../upstream/leaf_conn.js";
import { parseRemoteUrl } from "../upstream/remote_urls.js";
import type { CliIo } from "./io.js";

/** One dial's outcome. */
export interface ConnectResult {
  remote: string;
  url: string;
  ok: boolean;
  /** Connected: what the hub said about itself; failed: the operator's sentence. */
  text: string;
  /** The failure's code (GW_ERR_UPSTREAM_...), when it failed. */
  code?: string;
}

/** Dial `url` of `remote` once; resolves when the hub registers us or the attempt fails. */
async function probe(config: GatewayConfig, remote: LeafRemoteConfig, url: string): Promise<ConnectResult> {
  const label = parseRemoteUrl(url).label;
  const t = DEFAULTS.remote.timeouts;
  let settle!: (r: ConnectResult) => void;
  const done = new Promise<ConnectResult>((resolve) => (settle = resolve));
  const conn: LeafConn = new LeafConn({
    ...upstreamOptions(config, { ...remote, urls: [url] }),
    version: NATS_PROTOCOL_VERSION,
    log: nullLogger,
    local: { interestSnapshot: () => [], deliverFromUpstream: () => 0, refuseInterest: () => 0 },
    onStateChange: (connected) => {
      if (!connected) return;
      const info = conn.hubInfo;
      settle({ remote: remote.name, url: label, ok: true, text: `connected: the hub ${info?.serverName ?? "?"} (nats-server ${info?.version ?? "?"}) registered us` });
    },
    onFailure: (f) => settle({ remote: remote.name, url: label, ok: false, text: f.message, code: f.code }),
  });
  // A deadline over all the dial's own deadlines, should a step never report.
  const limit = t.connect + t.info + t.handshake + t.register + 1000;
  const timer = setTimeout(() => settle({ remote: remote.name, url: label, ok: false, text: `no outcome within ${limit} ms` }), limit);
  conn.start();
  const result = await done;
  clearTimeout(timer);
  await conn.stop();
  return result;
}

/** Dial every URL of every remote once (in parallel); print one line each; true when all connected. */
export async function checkConnect(config: GatewayConfig, io: CliIo): Promise<boolean> {
  if (config.leafRemotes.length === 0) {
    io.stdout.write("connect: no leafnode remote is configured (standalone); nothing to dial\n");
    return true;
  }
  const results = await Promise.all(config.leafRemotes.flatMap((r) => r.urls.map((u) => probe(config, r, u))));
  for (const r of results) {
    if (r.ok) io.stdout.write(`connect: remote "${r.remote}" ${r.url}: ${r.text}\n`);
    else io.stderr.write(`error: connect: remote "${r.remote}" ${r.url}: ${r.text}${r.code ? ` [${r.code}]` : ""}\n`);
  }
  const failed = results.filter((r) => !r.ok).length;
  io.stdout.write(`connect: ${results.length - failed} of ${results.length} hub URL${results.length === 1 ? "" : "s"} connected\n`);
  return failed === 0;
}
