/**
 * Shared set-up for the WebSocket end-to-end tests: a gateway with the AAA
 * authenticator (a fresh ed25519 signer per world) and its WebSocket listener
 * on a free port, optionally a real nats-server hub behind it over the mTLS
 * leafnode link, and the official NATS clients on both front ends: `wsconnect`
 * from @nats-io/nats-core over wss and `connect` from @nats-io/transport-node
 * over anonymous TLS, both signing the connection nonce with the caller's seed.
 * The config schema refuses an ephemeral websocket_port (0 means "off"), so a
 * free port is found by listening on 0 first.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import type { TestContext } from "node:test";
import { WebSocket } from "ws";
import { wsconnect, type NatsConnection } from "@nats-io/nats-core";
import type { ConnectionOptions } from "@nats-io/transport-node";
import { getPki, type Pki } from "../helpers/pki.js";
import { startGateway, natsConnectWithToken, type TestGateway } from "../helpers/gateway.js";
import { startHub, waitFor, type Hub } from "../helpers/hub.js";
import { createEd25519KeyPair, signNonce, tempDir, tokenWorld, writeSignerFiles, type ClientTokenSpec, type Ed25519KeyPair, type TokenWorld } from "../helpers/tokens.js";

export interface WsWorldOptions {
  /** Start a nats-server hub and connect the gateway to it (default false: standalone). */
  hub?: boolean;
  /** `websocket_compression` (default true, the gateway default). */
  compression?: boolean;
  /** Extra broker.conf lines. */
  lines?: string[];
}

export interface WsWorld {
  pki: Pki;
  tokens: TokenWorld;
  g: TestGateway;
  hub: Hub | null;
  wsUrl: string;
  /** A token for the world's user allowed to publish and subscribe `subjects` (plus its reply namespace). */
  token(subjects?: string[], spec?: ClientTokenSpec): string;
  /** Official WebSocket client over wss, trusting the test CA; closed after the test. */
  wsClient(token: string, opts?: WsClientOptions): Promise<NatsConnection>;
  /** Official TLS client on the client port; closed after the test. */
  tlsClient(token: string, opts?: Partial<ConnectionOptions> & { key?: Ed25519KeyPair }): Promise<NatsConnection>;
}

export interface WsClientOptions {
  /** Key that signs the nonce (default: the world's user). */
  key?: Ed25519KeyPair;
  name?: string;
  /** Ask for permessage-deflate (default true, as browsers do). */
  deflate?: boolean;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", resolve);
  });
  const addr = srv.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Gateway (AAA, WebSocket on) and optionally a hub, all stopped after the test. */
export async function startWsWorld(t: TestContext, opts: WsWorldOptions = {}): Promise<WsWorld> {
  const pki = await getPki();
  const tokens = tokenWorld();
  const dir = tempDir(t, "aaa-ws-e2e-");
  const { publicKeyPath } = writeSignerFiles(tokens.signer, dir, "signer");
  // One teardown in a fixed order: clients, then the gateway, then the hub.
  // (Gateway.stop() awaits the TLS listener's close, which only completes once
  // every TLS client has gone, so clients must leave first.)
  const conns: NatsConnection[] = [];
  let g: TestGateway | null = null;
  let hub: Hub | null = null;
  t.after(async () => {
    await Promise.allSettled(conns.map((nc) => nc.close()));
    await g?.stop();
    await hub?.stop();
  });
  if (opts.hub) hub = await startHub({ pki });
  const upstream = hub
    ? ["plugin.choria.network.leafnode_remotes = hub", `plugin.choria.network.leafnode_remote.hub.url = ${hub.leafUrl}`]
    : [];
  g = await startWithFreeWsPort(pki, [
    `plugin.choria.network.client_signer_cert = ${publicKeyPath}`,
    `plugin.choria.network.aaa_leafnode.websocket_compression = ${opts.compression ?? true}`,
    ...upstream,
    ...(opts.lines ?? []),
  ]);
  const gateway = g;
  if (hub) await waitFor("gateway upstream connected", () => gateway.gw.ready || undefined, 20000);
  const ca = readFileSync(pki.ca);
  const wsUrl = `wss://127.0.0.1:${gateway.gw.websocketPort}`;

  return {
    pki,
    tokens,
    g: gateway,
    hub,
    wsUrl,
    token: (subjects = ["test.>"], spec = {}) => tokens.mint({ pubSubjects: subjects, subSubjects: subjects, ...spec }),
    async wsClient(token, o = {}) {
      const key = o.key ?? tokens.user;
      const nc = await wsconnect({
        servers: wsUrl,
        name: o.name,
        reconnect: false,
        timeout: 10000,
        authenticator: (nonce?: string) => ({ auth_token: token, sig: signNonce(key.privateKey, nonce ?? "") }) as never,
        // Node 20 has no global WebSocket; `ws` has the W3C API and takes the CA to trust.
        wsFactory: async (url: string) => ({
          socket: new WebSocket(url, { ca, perMessageDeflate: o.deflate ?? true }) as unknown as globalThis.WebSocket,
          encrypted: true,
        }),
      });
      conns.push(nc);
      return nc;
    },
    async tlsClient(token, o = {}) {
      const { key = tokens.user, ...rest } = o;
      const nc = await natsConnectWithToken(gateway.url, pki, token, key.seedHex, rest);
      conns.push(nc);
      return nc;
    },
  };
}

/** Another user key pair (a second caller with its own reply namespace). */
export const newUserKey = createEd25519KeyPair;

async function startWithFreeWsPort(pki: Pki, lines: string[]): Promise<TestGateway> {
  // Another process may take the port between our probe and the gateway's bind: retry.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await startGateway(pki, [`plugin.choria.network.websocket_port = ${port}`, ...lines]);
    } catch (err) {
      if (attempt >= 5 || (err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    }
  }
}
