/**
 * Pieces that put a gateway in front of a devkit hub: a broker.conf written in
 * the Choria format (so whatever uses it also exercises the real config
 * loader), client credentials minted by the development signer, and Choria's
 * private reply subjects. The demo connects with them through
 * lite_client.ts (anonymous TLS, the JWT in `auth_token`, the ed25519
 * signature of the server nonce in `sig`).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { md5Hex } from "../auth/reply_namespace.js";
import { createEd25519KeyPair, mintClientToken, type ClientTokenSpec, type DevSigner } from "../auth/mint.js";
import type { ClientPermissionFlags } from "../auth/types.js";
import type { Hub } from "./hub.js";
import type { Pki } from "./pki.js";

export interface GatewayConfOptions {
  /** Folder the broker.conf is written to. */
  dir: string;
  pki: Pki;
  /** AAA signer entries: public key/certificate paths or 64-hex ed25519 keys. */
  signers: string[];
  /** Upstream hub (omit for a standalone gateway). */
  hub?: Hub;
  /** Client port (default 0: a free port). */
  clientPort?: number;
  /** Monitoring port (default off; -1 would be refused, use 0 for off). */
  statsPort?: number;
  /** More `key = value` settings, appended last. */
  extra?: Record<string, string>;
  /** File name (default broker.conf). */
  fileName?: string;
}

/** The broker.conf text for a gateway on 127.0.0.1 with the devkit PKI. */
export function gatewayConfText(opts: GatewayConfOptions): string {
  const lines = [
    "# written by the aaa-leafnode devkit: a throwaway gateway on 127.0.0.1",
    "loglevel = info",
    "identity = aaa-leafnode-devkit",
    "main_collective = choria",
    "plugin.security.provider = file",
    `plugin.security.file.certificate = ${opts.pki.gateway.cert}`,
    `plugin.security.file.key = ${opts.pki.gateway.key}`,
    `plugin.security.file.ca = ${opts.pki.ca}`,
    `plugin.choria.network.client_signer_cert = ${opts.signers.join(", ")}`,
    "plugin.choria.network.listen_address = 127.0.0.1",
    `plugin.choria.network.client_port = ${opts.clientPort ?? 0}`,
  ];
  if (opts.statsPort !== undefined && opts.statsPort !== 0) {
    lines.push("plugin.choria.stats_address = 127.0.0.1", `plugin.choria.stats_port = ${opts.statsPort}`);
  }
  if (opts.hub) {
    const r = "plugin.choria.network.leafnode_remote.hub.";
    lines.push(
      "plugin.choria.network.leafnode_remotes = hub",
      `${r}url = ${opts.hub.leafUrl}`,
      `${r}tls.cert = ${opts.pki.leaf.cert}`,
      `${r}tls.key = ${opts.pki.leaf.key}`,
      `${r}tls.ca = ${opts.pki.ca}`,
      // A local hub comes back fast; no need to wait the production default.
      "plugin.choria.network.aaa_leafnode.reconnect_delay = 100ms",
      "plugin.choria.network.aaa_leafnode.reconnect_max_delay = 2s",
    );
  }
  for (const [k, v] of Object.entries(opts.extra ?? {})) lines.push(`${k} = ${v}`);
  return lines.join("\n") + "\n";
}

/** Write the broker.conf; returns its path. */
export function writeGatewayConf(opts: GatewayConfOptions): string {
  const path = join(opts.dir, opts.fileName ?? "broker.conf");
  writeFileSync(path, gatewayConfText(opts));
  return path;
}

/** What a Choria client holds after `choria login`: a token and the seed of its key. */
export interface CallerCredentials {
  callerId: string;
  token: string;
  /** Hex of the 32-byte ed25519 seed whose public half is the token's public_key. */
  seedHex: string;
}

/** Mint a client token for `callerId` with a fresh key pair. */
export function mintCaller(
  signer: DevSigner,
  callerId: string,
  permissions: ClientPermissionFlags = {},
  spec: Omit<ClientTokenSpec, "callerid" | "publicKey" | "permissions"> = {},
): CallerCredentials {
  const keys = createEd25519KeyPair();
  const token = mintClientToken(signer, { ...spec, callerid: callerId, publicKey: keys.publicHex, permissions });
  return { callerId, token, seedHex: keys.seedHex };
}

/** A Choria-style private reply subject: `<collective>.reply.<md5(callerid)>.<id>`. */
export function replySubjectFor(callerId: string, id: string, collective = "choria"): string {
  return `${collective}.reply.${md5Hex(callerId)}.${id}`;
}
