/**
 * Starts an in-process gateway for tests from broker.conf text (so every test
 * also goes through the real config loader), with logs captured in memory, and
 * connects official NATS clients to it over anonymous TLS, signing the nonce
 * the way a Choria client does.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection, type ConnectionOptions } from "@nats-io/transport-node";
import { loadConfig } from "../../src/config/load.js";
import { Gateway } from "../../src/gateway.js";
import { createLogger, LevelControl, MemorySink } from "../../src/obs/log.js";
import type { Pki } from "./pki.js";
import { signNonce } from "../../src/auth/mint.js";

export interface TestGateway {
  gw: Gateway;
  url: string;
  dir: string;
  logs: MemorySink;
  audit: MemorySink;
  stop(): Promise<void>;
}

/** Start a gateway on 127.0.0.1 with an ephemeral client port; `lines` are extra broker.conf lines. */
export async function startGateway(pki: Pki, lines: string[] = [], opts: { development?: boolean } = {}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), "aaa-gw-"));
  const conf = [
    "loglevel = debug",
    "plugin.choria.network.listen_address = 127.0.0.1",
    "plugin.choria.network.client_port = 0",
    "plugin.security.provider = file",
    `plugin.security.file.certificate = ${pki.gateway.cert}`,
    `plugin.security.file.key = ${pki.gateway.key}`,
    `plugin.security.file.ca = ${pki.ca}`,
    ...(opts.development ? ["plugin.choria.network.aaa_leafnode.authenticator = development"] : []),
    ...lines,
  ].join("\n");
  const file = join(dir, "broker.conf");
  writeFileSync(file, conf + "\n");
  const { config } = loadConfig(file);
  const logs = new MemorySink();
  const audit = new MemorySink();
  const levels = new LevelControl("debug");
  const gw = await Gateway.start(config, {
    log: createLogger(logs, levels),
    audit: createLogger(audit, levels, { log: "audit" }),
  });
  let stopped = false;
  return {
    gw,
    url: `tls://127.0.0.1:${gw.clientPort}`,
    dir,
    logs,
    audit,
    async stop() {
      if (stopped) return;
      stopped = true;
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Connect the official NATS client over TLS trusting the test CA. */
export function natsConnect(url: string, pki: Pki, opts: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  return connect({
    servers: url,
    tls: { caFile: pki.ca },
    reconnect: false,
    timeout: 5000,
    ...opts,
  });
}

/** Connect with an AAA token, signing this connection's nonce with the caller's seed. */
export function natsConnectWithToken(url: string, pki: Pki, token: string, seed: string | Uint8Array, opts: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  return natsConnect(url, pki, {
    authenticator: (nonce?: string) => ({ auth_token: token, sig: signNonce(seed, nonce ?? "") }) as never,
    ...opts,
  });
}
