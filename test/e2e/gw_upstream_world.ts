/**
 * Shared set-up for the upstream end-to-end tests (gw_upstream_*.test.ts): a
 * real nats-server hub whose leafnode port requires verified client
 * certificates, the whole gateway in process (AAA authenticator with a fresh
 * ed25519 signer, monitor on an ephemeral port) relaying to it over its mTLS
 * leafnode remote, official NATS clients on both sides, and small probes that
 * look at the link from the hub's side: `/leafz` (subscriptions per leaf link), and a raw
 * observer leaf that reads the interest the hub would advertise (queue weights
 * included). An optional TCP gate in front of the leafnode port, advertised by
 * the hub as its only leafnode URL, lets outage tests decide when the gateway
 * may come back, so they never depend on timing.
 */
import { readFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { TestContext } from "node:test";
import { connect as natsConnect, credsAuthenticator, type NatsConnection, type ConnectionOptions } from "@nats-io/transport-node";
import { getPki, type Pki } from "../helpers/pki.js";
import { startGateway, natsConnectWithToken, type TestGateway } from "../helpers/gateway.js";
import { startGate, type Gate } from "../helpers/gate.js";
export { startGate, type Gate };
import { startHub, waitFor, type Hub, type HubOptions } from "../helpers/hub.js";
import { tempDir, tokenWorld, writeSignerFiles, type ClientTokenSpec, type Ed25519KeyPair, type TokenWorld } from "../helpers/tokens.js";

export { waitFor };


export interface WorldOptions {
  /** Hub options besides the PKI (operator mode, extra config). */
  hub?: Omit<HubOptions, "pki">;
  /** Put a gate in front of the hub's leafnode port and make the hub advertise it. */
  gate?: boolean;
  /** Start with the gate closed (the hub unreachable for the gateway). */
  gateClosed?: boolean;
  /** Extra broker.conf lines for the gateway. */
  lines?: string[];
  /** Upstream lines replacing the default remote (client certificate from the test CA). */
  remoteLines?: (hub: Hub, pki: Pki, leafUrl: string) => string[];
  /** Wait for the upstream link before returning (default true). */
  waitReady?: boolean;
  /**
   * Independent hubs, each a remote of its own (`hub`, `hub2`, `hub3`…), each
   * behind its own gate when `gate` is set (default 1).
   */
  hubs?: number;
  /** Attach to this running hub (a cluster member, say) instead of starting one; it is not stopped. */
  useHub?: Hub;
}

export interface World {
  pki: Pki;
  tokens: TokenWorld;
  hub: Hub;
  /** Every hub, in remote order (`hubs[0]` is `hub`). */
  hubs: Hub[];
  g: TestGateway;
  gate: Gate | null;
  /** One gate per hub when `gate` is set. */
  gates: Gate[];
  /** A client token for the world's user ("up=alice" unless spec.callerid says otherwise). */
  token(spec?: ClientTokenSpec): string;
  /** Official NATS client through the gateway (anonymous TLS, token + nonce signature); closed at the end. */
  client(token: string, opts?: Partial<ConnectionOptions> & { key?: Ed25519KeyPair }): Promise<NatsConnection>;
  /** Official NATS client on the hub's client port (with the hub's creds in operator mode); closed at the end. */
  hubClient(opts?: Partial<ConnectionOptions>): Promise<NatsConnection>;
  readyz(): Promise<{ status: number; body: Record<string, unknown> }>;
  metrics(): Promise<string>;
}

/** Hub (and gate), gateway connected to it, and clients; all stopped after the test in reverse order. */
export async function startWorld(t: TestContext, opts: WorldOptions = {}): Promise<World> {
  const pki = await getPki();
  const tokens = tokenWorld();
  const dir = tempDir(t, "aaa-gw-up-");
  const { publicKeyPath } = writeSignerFiles(tokens.signer, dir, "signer");
  const gwConns: NatsConnection[] = [];
  const hubConns: NatsConnection[] = [];
  let g: TestGateway | null = null;
  const hubs: Hub[] = [];
  const gates: Gate[] = [];
  // Clients leave first: Gateway.stop() waits for the TLS listener, which waits for every client socket.
  t.after(async () => {
    await Promise.allSettled(gwConns.map((nc) => nc.close()));
    await g?.stop();
    await Promise.allSettled(hubConns.map((nc) => nc.close()));
    await Promise.allSettled(hubs.filter((h) => h !== opts.useHub).map((h) => h.stop()));
    await Promise.allSettled(gates.map((gt) => gt.close()));
  });

  const names: string[] = [];
  const remote: string[] = [];
  for (let i = 0; i < (opts.hubs ?? 1); i++) {
    const name = i === 0 ? "hub" : `hub${i + 1}`;
    let leafPort = 0;
    let gate: Gate | null = null;
    if (opts.gate || opts.gateClosed) {
      gate = await startGate(() => leafPort);
      gate.open = !opts.gateClosed;
      gates.push(gate);
    }
    const hub = opts.useHub ?? await startHub({ pki, ...opts.hub, ...(gate ? { leafAdvertise: `127.0.0.1:${gate.port}` } : {}) });
    hubs.push(hub);
    leafPort = hub.leafPort;
    const leafUrl = gate !== null ? `tls://127.0.0.1:${gate.port}` : hub.leafUrl;
    names.push(name);
    remote.push(...(opts.remoteLines && i === 0
      ? opts.remoteLines(hub, pki, leafUrl)
      : [
          `plugin.choria.network.leafnode_remote.${name}.url = ${leafUrl}`,
          `plugin.choria.network.leafnode_remote.${name}.tls.cert = ${pki.leaf.cert}`,
          `plugin.choria.network.leafnode_remote.${name}.tls.key = ${pki.leaf.key}`,
          `plugin.choria.network.leafnode_remote.${name}.tls.ca = ${pki.ca}`,
        ]));
  }
  const hub = hubs[0]!;
  const gate = gates[0] ?? null;
  g = await startGateway(pki, [
    `plugin.choria.network.client_signer_cert = ${publicKeyPath}`,
    "plugin.choria.stats_port = -1",
    "plugin.choria.network.aaa_leafnode.reconnect_delay = 50ms",
    "plugin.choria.network.aaa_leafnode.reconnect_max_delay = 250ms",
    `plugin.choria.network.leafnode_remotes = ${names.join(",")}`,
    ...remote,
    ...(opts.lines ?? []),
  ]);
  const gateway = g;
  if (opts.waitReady ?? true) await waitFor("gateway upstream connected", () => gateway.gw.ready || undefined, 20000);
  const theHub = hub;
  const monitor = `http://127.0.0.1:${gateway.gw.monitorPort}`;

  return {
    pki,
    tokens,
    hub: theHub,
    hubs,
    g: gateway,
    gate,
    gates,
    token: (spec = {}) => tokens.mint(spec),
    async client(token, o = {}) {
      const { key = tokens.user, ...rest } = o;
      const nc = await natsConnectWithToken(gateway.url, pki, token, key.seedHex, rest);
      gwConns.push(nc);
      return nc;
    },
    async hubClient(o = {}) {
      const nc = await natsConnect({
        servers: theHub.clientUrl,
        reconnect: false,
        authenticator: theHub.creds ? credsAuthenticator(readFileSync(theHub.creds)) : undefined,
        ...o,
      });
      hubConns.push(nc);
      return nc;
    },
    async readyz() {
      const res = await fetch(`${monitor}/readyz`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async metrics() {
      const res = await fetch(`${monitor}/metrics`);
      return res.text();
    },
  };
}

interface LeafzEntry { account?: string; subscriptions?: number; subscriptions_list?: string[] }

/** The hub's leafnode connections with their subscription lists (`/leafz?subs=1`). */
export async function hubLeafs(hub: Hub): Promise<LeafzEntry[]> {
  return ((await hub.leafz())["leafs"] ?? []) as LeafzEntry[];
}

/** Resolves once the hub lists `subject` on a leafnode connection (the gateway's LS+ arrived). */
export async function hubHasLeafSub(hub: Hub, subject: string, timeoutMs = 15000): Promise<void> {
  await waitFor(`hub interest in ${subject} from the gateway`, async () => {
    return (await hubLeafs(hub)).some((l) => l.subscriptions_list?.includes(subject)) || undefined;
  }, timeoutMs);
}

/**
 * Interest as the hub advertises it to a newly connected leaf
 * (docs/protocol.md#interest): a raw observer leaf with the test CA's client certificate connects,
 * and every `LS+` before the PONG to its first PING is collected. Queue entries
 * carry the hub's total weight, the sum of what every leaf announced.
 */
export async function observeHubInterest(hub: Hub, pki: Pki): Promise<{ subject: string; queue?: string; weight?: number }[]> {
  const plain = netConnect({ host: "127.0.0.1", port: hub.leafPort });
  plain.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    let acc = "";
    const onData = (b: Buffer): void => {
      acc += b.toString("latin1");
      if (acc.includes("\r\n")) {
        plain.off("data", onData);
        plain.pause();
        resolve();
      }
    };
    plain.on("data", onData);
    plain.once("error", reject);
  });
  const tls = tlsConnect({
    socket: plain,
    ca: readFileSync(pki.ca),
    cert: readFileSync(pki.leaf.cert),
    key: readFileSync(pki.leaf.key),
    servername: "localhost",
  });
  tls.on("error", () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      tls.once("secureConnect", () => resolve());
      tls.once("error", reject);
    });
    const name = `observer-${Math.random().toString(36).slice(2, 10)}`;
    tls.write(`CONNECT {"name":"${name}","version":"2.9.10","tls_required":true,"headers":true}\r\nPING\r\n`);
    const text = await new Promise<string>((resolve, reject) => {
      let acc = "";
      const timer = setTimeout(() => reject(new Error(`observer leaf: no PONG; got ${JSON.stringify(acc.slice(0, 500))}`)), 10000);
      tls.on("data", (b: Buffer) => {
        acc += b.toString("latin1");
        if (/\r\nPONG\r\n/.test(acc) || acc.startsWith("PONG\r\n")) {
          clearTimeout(timer);
          resolve(acc);
        }
      });
      tls.once("close", () => reject(new Error(`observer leaf closed: ${JSON.stringify(acc.slice(0, 500))}`)));
    });
    const out: { subject: string; queue?: string; weight?: number }[] = [];
    for (const line of text.split("\r\n")) {
      if (!line.startsWith("LS+ ")) continue;
      const [subject, queue, weight] = line.slice(4).split(" ");
      out.push(queue === undefined ? { subject: subject! } : { subject: subject!, queue, weight: Number(weight) });
    }
    return out;
  } finally {
    tls.destroy();
    plain.destroy();
  }
}
