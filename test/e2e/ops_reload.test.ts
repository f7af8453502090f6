/**
 * SIGHUP reload of a running `aaa-leafnode run` child. A good new file takes
 * effect without dropping anyone: the log level changes and a newly added AAA
 * signer's tokens connect, while existing connections keep flowing. A bad new
 * file (a syntax error, a refused key, a signer file that does not exist) is
 * logged and the running configuration kept, connections and new connects
 * included. A connection whose token no longer verifies (its signer removed)
 * is closed, and so is one whose live subscription the new policies no longer
 * allow; everyone else stays.
 */
import { before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { packageRoot } from "../../src/devkit/cli_process.js";
import { getPki, type Pki } from "../helpers/pki.js";
import { waitFor } from "../helpers/hub.js";
import { rawConnect } from "../helpers/raw.js";
import { createSigner, tokenWorld, writeSignerFiles, type TokenWorld } from "../helpers/tokens.js";
import { baseConf, Clients, metricValue, opsDir, scrape, spawnGateway, type OpsGateway } from "./ops_world.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const RELOADED = "configuration reloaded";
const RELOAD_ERROR = /^reload (refused|failed)/;

interface World {
  dir: string;
  /** Two trusted-or-not signers sharing one user key pair. */
  a: TokenWorld;
  b: TokenWorld;
  signerA: string;
  signerB: string;
  /** Package policies plus grant.json (always: pub/sub ops.>). */
  generousPolicies: string;
  /** The package policies alone. */
  packagePolicies: string;
  clients: Clients;
  conf(opts: { signers: string[]; loglevel?: string; policies?: string; extra?: string[] }): string[];
}

function makeWorld(t: TestContext, pki: Pki): World {
  const dir = opsDir(t, "aaa-ops-reload-");
  const a = tokenWorld(createSigner("ed25519"));
  const b = tokenWorld(createSigner("ed25519"), a.user);
  const signerA = writeSignerFiles(a.signer, dir, "signer-a").publicKeyPath;
  const signerB = writeSignerFiles(b.signer, dir, "signer-b").publicKeyPath;
  const packagePolicies = join(dir, "policies-package");
  const generousPolicies = join(dir, "policies-generous");
  cpSync(join(packageRoot(), "policies"), packagePolicies, { recursive: true });
  cpSync(join(packageRoot(), "policies"), generousPolicies, { recursive: true });
  writeFileSync(join(generousPolicies, "grant.json"), JSON.stringify({
    description: "test grant: every caller may use ops.>",
    when: { always: true },
    publish: ["ops.>"],
    subscribe: ["ops.>"],
  }));
  return {
    dir, a, b, signerA, signerB, generousPolicies, packagePolicies,
    clients: new Clients(t, pki),
    conf: (o) => {
      const lines = baseConf(pki, o.signers, [
        `plugin.choria.network.aaa_leafnode.policies_dir = ${o.policies ?? generousPolicies}`,
        ...(o.extra ?? []),
      ]);
      return lines.map((l) => (l.startsWith("loglevel = ") ? `loglevel = ${o.loglevel ?? "info"}` : l));
    },
  };
}

/** Rewrite the file, SIGHUP, and wait for the `count`-th line matching `outcome`. */
async function reload(gw: OpsGateway, lines: string[], outcome: string | RegExp, count: number): Promise<Record<string, unknown>> {
  gw.writeConf(lines);
  gw.signal("SIGHUP");
  return gw.waitLogged(outcome, count);
}

/** A message published on `from` arrives at `to`'s subscription `sub` (proves both are alive). */
async function flows(from: NatsConnection, subject: string, received: () => string[], body: string): Promise<void> {
  from.publish(subject, enc.encode(body));
  await from.flush();
  await waitFor(`"${body}" to arrive`, () => (received().includes(body) ? true : undefined), 10_000);
}

function collect(nc: NatsConnection, subject: string): () => string[] {
  const got: string[] = [];
  nc.subscribe(subject, { callback: (_e, m) => void got.push(dec.decode(m.data)) });
  return () => got;
}

async function refused(w: World, gw: OpsGateway, tokens: TokenWorld): Promise<void> {
  await assert.rejects(w.clients.connect(gw.url, tokens.mint(), tokens.user), /Authorization Violation/i);
}

/** Wait until the official client sees its connection closed by the server; returns the close error text. */
async function closedByServer(nc: NatsConnection): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const err = await Promise.race([
    nc.closed(),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("connection was not closed")), 10_000))),
  ]).finally(() => clearTimeout(timer));
  return err instanceof Error ? err.message : String(err);
}

describe("SIGHUP reload", () => {
  let pki: Pki;
  before(async () => {
    pki = await getPki();
  });

  test("a good config: log level changes, a new signer's tokens connect, existing connections stay", async (t) => {
    const w = makeWorld(t, pki);
    const gw = await spawnGateway(t, w.dir, w.conf({ signers: [w.signerA] }));
    const old = await w.clients.connect(gw.url, w.a.mint({ callerid: "up=old" }), w.a.user);
    const oldGot = collect(old, "ops.live");
    await old.flush();
    await refused(w, gw, w.b);

    // At info, a client's protocol error is not logged (it is a debug line).
    const garbage = async () => {
      const raw = await rawConnect(gw.clientPort, pki.ca);
      raw.send("NOT A NATS OP\r\n");
      await raw.closed;
    };
    await garbage();
    const refusals = gw.logged("connection refused").length;
    await refused(w, gw, w.b); // a later line in the same log: anything before it has been read
    await gw.waitLogged("connection refused", refusals + 1);
    assert.equal(gw.logged("protocol error").length, 0);

    await reload(gw, w.conf({ signers: [w.signerA, w.signerB], loglevel: "debug" }), RELOADED, 1);
    assert.equal(gw.logged(RELOAD_ERROR).length, 0);

    const fresh = await w.clients.connect(gw.url, w.b.mint({ callerid: "up=fresh" }), w.b.user);
    await flows(fresh, "ops.live", oldGot, "from the new signer's caller");
    assert.equal(old.isClosed(), false);
    await garbage();
    const debugLine = await gw.waitLogged("protocol error");
    assert.equal(debugLine["level"], "debug");
    assert.equal(metricValue(await scrape(gw.statsPort!), "choria_network_connections"), 2);
  });

  test("a bad config is logged and the running one kept: connections stay, new connects work", async (t) => {
    const w = makeWorld(t, pki);
    const gw = await spawnGateway(t, w.dir, w.conf({ signers: [w.signerA] }));
    const old = await w.clients.connect(gw.url, w.a.mint({ callerid: "up=old" }), w.a.user);
    const oldGot = collect(old, "ops.live");
    await old.flush();

    const bad: { name: string; lines: string[]; says: RegExp }[] = [
      { name: "syntax error", lines: [...w.conf({ signers: [w.signerA, w.signerB], loglevel: "debug" }), "this line has no equals sign"], says: /key = value/ },
      { name: "refused key", lines: w.conf({ signers: [w.signerA, w.signerB], extra: ["plugin.choria.network.peers = nats://10.0.0.9:5222"] }), says: /no cluster/ },
      { name: "missing signer file", lines: w.conf({ signers: [w.signerA, join(w.dir, "no-such-signer.pem")] }), says: /no-such-signer/ },
    ];
    for (const [i, c] of bad.entries()) {
      const line = await reload(gw, c.lines, RELOAD_ERROR, i + 1);
      assert.equal(line["level"], "error", c.name);
      assert.match(JSON.stringify(line["error"]), c.says, c.name);
      assert.equal(old.isClosed(), false, `${c.name}: the existing connection stays`);
      const again = await w.clients.connect(gw.url, w.a.mint({ callerid: `up=again-${i}` }), w.a.user);
      await flows(again, "ops.live", oldGot, `after ${c.name}`);
      await refused(w, gw, w.b); // signer B was never applied
    }
    assert.equal(gw.logged(RELOADED).length, 0);
    assert.equal(gw.logged("protocol error").length, 0);
    assert.equal(gw.isRunning(), true);
  });

  test("a connection whose signer was removed is closed; the others stay", async (t) => {
    const w = makeWorld(t, pki);
    const gw = await spawnGateway(t, w.dir, w.conf({ signers: [w.signerA, w.signerB] }));
    const viaA = await w.clients.connect(gw.url, w.a.mint({ callerid: "up=via-a" }), w.a.user);
    const viaB = await w.clients.connect(gw.url, w.b.mint({ callerid: "up=via-b" }), w.b.user);
    const gotB = collect(viaB, "ops.live");
    viaA.subscribe("ops.live");
    await Promise.all([viaA.flush(), viaB.flush()]);

    await reload(gw, w.conf({ signers: [w.signerB] }), RELOADED, 1);
    assert.match(await closedByServer(viaA), /Authorization Violation/i);
    assert.equal(viaB.isClosed(), false);
    await flows(viaB, "ops.live", gotB, "B still here");
    const m = await scrape(gw.statsPort!);
    assert.equal(metricValue(m, "choria_network_connections"), 1);
    assert.equal(metricValue(m, "aaa_leafnode_closed_connections_total", { reason: "permissions_revoked" }), 1);
    await refused(w, gw, w.a);
  });

  test("a connection whose live subscription is no longer allowed is closed; the others stay", async (t) => {
    const w = makeWorld(t, pki);
    const gw = await spawnGateway(t, w.dir, w.conf({ signers: [w.signerA] }));
    // ops.watch is granted only by grant.json; keep.this by the token's own sub_subjects.
    const watcher = await w.clients.connect(gw.url, w.a.mint({ callerid: "up=watcher" }), w.a.user);
    watcher.subscribe("ops.watch");
    const keeper = await w.clients.connect(gw.url, w.a.mint({ callerid: "up=keeper", subSubjects: ["keep.>"], pubSubjects: ["keep.>"] }), w.a.user);
    const kept = collect(keeper, "keep.this");
    await Promise.all([watcher.flush(), keeper.flush()]);

    await reload(gw, w.conf({ signers: [w.signerA], policies: w.packagePolicies }), RELOADED, 1);
    assert.match(await closedByServer(watcher), /Authorization Violation/i);
    assert.equal(keeper.isClosed(), false);
    await flows(keeper, "keep.this", kept, "keeper still here");
    const refusal = gw.logged("connection refused").find((r) => r["code"] === "GW_ERR_PERMISSIONS_SHRANK");
    assert.ok(refusal, "the audit log says why");
    assert.equal(refusal["callerId"], "up=watcher");

    // A new connection gets the new (smaller) grants.
    const late = await w.clients.connect(gw.url, w.a.mint({ callerid: "up=late" }), w.a.user);
    late.subscribe("ops.watch");
    await waitFor("the refused subscription to be counted", async () =>
      metricValue(await scrape(gw.statsPort!), "aaa_leafnode_permission_violations_total", { kind: "subscribe" }) === 1 ? true : undefined);
  });
});
