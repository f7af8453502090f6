/**
 * Gateway.reload() is all or nothing, and `live` keys are live. A reload whose
 * new server certificate cannot be loaded changes nothing: the configuration
 * object, the log level, the connection settings, every open connection and
 * the upstream link (same link, still relaying both ways) are as they were.
 * A good reload changes each `live` key's behaviour on connections that are
 * already open, without reconnecting them; keys that need a restart are
 * logged with their key and keep their running value.
 */
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.js";
import { KEYS } from "../../src/config/keys.js";
import { Gateway } from "../../src/gateway.js";
import { createLogger, LevelControl, MemorySink } from "../../src/obs/log.js";
import { packageRoot } from "../../src/devkit/cli_process.js";
import { getPki, type Pki } from "../helpers/pki.js";
import { rawConnect, type RawClient } from "../helpers/raw.js";
import { createEd25519KeyPair, createSigner, signNonce, tempDir, tokenWorld, writeSignerFiles, type TokenWorld } from "../helpers/tokens.js";
import { startWorld, waitFor } from "./gw_upstream_world.js";

const A = "plugin.choria.network.aaa_leafnode.";
const enc = new TextEncoder();
const dec = new TextDecoder();

interface Running {
  gw: Gateway;
  sink: MemorySink;
  dir: string;
  tokens: TokenWorld;
  signerPath: string;
  /** Rewrite broker.conf as the base lines plus `extra`, load it and reload the gateway. */
  reload(extra: string[]): ReturnType<Gateway["reload"]>;
  /** An authenticated raw client (CONNECT with the token and the nonce signature, PING answered). */
  raw(token?: string): Promise<RawClient>;
  logged(msg: string): Record<string, unknown>[];
}

function baseLines(pki: Pki, signer: string, dir: string): string[] {
  const generous = join(dir, "policies-generous");
  cpSync(join(packageRoot(), "policies"), generous, { recursive: true });
  writeFileSync(join(generous, "grant.json"), JSON.stringify({
    description: "test grant: every caller may use ops.>", when: { always: true }, publish: ["ops.>"], subscribe: ["ops.>"],
  }));
  return [
    "plugin.choria.network.listen_address = 127.0.0.1",
    "plugin.choria.network.client_port = 0",
    `plugin.security.file.certificate = ${pki.gateway.cert}`,
    `plugin.security.file.key = ${pki.gateway.key}`,
    `plugin.security.file.ca = ${pki.ca}`,
    `plugin.choria.network.client_signer_cert = ${signer}`,
  ];
}

async function start(t: TestContext, pki: Pki, extra: string[]): Promise<Running> {
  const dir = tempDir(t, "aaa-cfg-reload-");
  const tokens = tokenWorld();
  const signer = writeSignerFiles(tokens.signer, dir, "signer").publicKeyPath;
  const base = baseLines(pki, signer, dir);
  const file = join(dir, "broker.conf");
  const write = (lines: string[]) => writeFileSync(file, [...base, ...lines].join("\n") + "\n");
  write(extra);
  const { config } = loadConfig(file);
  const sink = new MemorySink();
  const levels = new LevelControl(config.logLevel);
  const gw = await Gateway.start(config, { log: createLogger(sink, levels), levels });
  const raws: RawClient[] = [];
  t.after(async () => {
    for (const r of raws) r.close();
    await gw.stop();
  });
  const lines = () => sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    gw, sink, dir, tokens, signerPath: signer,
    reload: (more) => {
      write(more);
      return gw.reload(loadConfig(file).config);
    },
    async raw(token = tokens.mint()) {
      const r = await rawConnect(gw.clientPort, pki.ca);
      raws.push(r);
      const sig = signNonce(tokens.user.privateKey, String(r.info["nonce"]));
      r.send(`CONNECT ${JSON.stringify({ auth_token: token, sig, protocol: 1, verbose: false, pedantic: false, headers: true })}\r\nPING\r\n`);
      await r.expect(/PONG\r\n/);
      return r;
    },
    logged: (msg) => lines().filter((l) => l["msg"] === msg),
  };
}

describe("reload: all or nothing", () => {
  test("a bad certificate leaves every setting, connection and the upstream exactly as they were", async (t) => {
    const w = await startWorld(t, { lines: ["loglevel = info"] });
    const gw = w.g.gw;
    const subjects = { pubSubjects: ["ops.>"], subSubjects: ["ops.>"] };
    const nc = await w.client(w.token(subjects));
    const got: string[] = [];
    nc.subscribe("ops.>", { callback: (_e, m) => void got.push(dec.decode(m.data)) });
    await nc.flush();
    const hubNc = await w.hubClient();
    await waitFor("hub to gateway", async () => {
      hubNc.publish("ops.a", enc.encode("before"));
      await hubNc.flush();
      return got.includes("before") || undefined;
    }, 15_000);

    const configBefore = structuredClone(gw.config);
    const configObject = gw.config;
    const upstream = gw.upstream;
    const conns = [...gw.conns];
    const level = gw.levels.level;

    // A new file that changes many keys, and names a certificate that is not a certificate.
    const badCert = join(w.g.dir, "bad-cert.pem");
    writeFileSync(badCert, "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
    const file = join(w.g.dir, "broker.conf");
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text + [
      `plugin.security.file.certificate = ${badCert}`,
      "loglevel = error",
      `${A}max_subscriptions = 1`,
      `${A}ping_max = 7`,
      "plugin.choria.network.leafnode_remote.hub.url = nats://127.0.0.1:1",
    ].join("\n") + "\n");
    // The loader refuses the pair itself (naming the line); the gateway must refuse it as well.
    const next = loadConfig(file, { checkFiles: false }).config;
    await assert.rejects(gw.reload(next), (err: Error & { code?: string }) =>
      err.code === "GW_ERR_CONFIG" && /reload refused: the client listener cannot use .*bad-cert\.pem/.test(err.message));

    assert.equal(gw.config, configObject);
    assert.deepEqual(gw.config, configBefore);
    assert.equal(gw.levels.level, level);
    assert.equal(gw.upstream, upstream);
    assert.equal(gw.upstream!.connected, true);
    assert.deepEqual([...gw.conns], conns);
    assert.equal(nc.isClosed(), false);

    // Still relaying both ways over the same link, still under the old limits.
    const back: string[] = [];
    hubNc.subscribe("ops.back", { callback: (_e, m) => void back.push(dec.decode(m.data)) });
    await hubNc.flush();
    nc.subscribe("ops.second", { callback: () => {} });
    await waitFor("gateway to hub", async () => {
      nc.publish("ops.back", enc.encode("after"));
      await nc.flush();
      return back.includes("after") || undefined;
    }, 15_000);
    hubNc.publish("ops.b", enc.encode("after-in"));
    await waitFor("hub to gateway after the refused reload", () => got.includes("after-in") || undefined, 10_000);
    assert.equal(nc.isClosed(), false, "a second subscription is still allowed (max_subscriptions unchanged)");
    // New clients still get the old, good certificate.
    const fresh = await w.client(w.token({ callerid: "up=fresh", ...subjects }));
    await fresh.flush();
  });

  test("upstream changes are logged as needing a restart, and the link stays as it is", async (t) => {
    const w = await startWorld(t, { lines: ["loglevel = info"] });
    const gw = w.g.gw;
    const upstream = gw.upstream;
    const remotes = structuredClone(gw.config.leafRemotes);
    const file = join(w.g.dir, "broker.conf");
    const url = "plugin.choria.network.leafnode_remote.hub.url";
    writeFileSync(file, readFileSync(file, "utf8") + `${url} = nats://127.0.0.1:1\n${A}ping_interval = 30s\n`);
    const plan = await gw.reload(loadConfig(file).config);
    assert.deepEqual(plan.changes.map((c) => [c.key, c.reload]).sort(), [[`${A}ping_interval`, "new connections"], [url, "restart"]]);
    assert.deepEqual(gw.config.leafRemotes, remotes, "the running remote is kept");
    assert.equal(gw.config.pingInterval, 30_000);
    assert.equal(gw.upstream, upstream);
    assert.equal(gw.upstream!.connected, true);
    const records = w.g.logs.records();
    const restart = records.find((r) => r["key"] === url)!;
    assert.equal(restart["level"], "warn");
    assert.equal(restart["msg"], "configuration key changed; it takes effect at the next restart, the running value is kept");
    assert.equal(restart["to"], "nats://127.0.0.1:1");
    const kept = records.find((r) => r["msg"] === "the upstream link keeps the settings it started with until the next restart")!;
    assert.deepEqual(kept["settings"], ["pingInterval"]);
  });

  test("a bad signer file changes nothing either", async (t) => {
    const pki = await getPki();
    const r = await start(t, pki, ["loglevel = info"]);
    const before = structuredClone(r.gw.config);
    const conn = await r.raw();
    await assert.rejects(r.reload(["loglevel = debug", `plugin.choria.network.client_signer_cert = ${join(r.dir, "policies-generous", "grant.json")}`]), /invalid signer/);
    assert.deepEqual(r.gw.config, before);
    assert.equal(r.gw.levels.level, "info");
    conn.send("PING\r\n");
    await conn.expect(/PONG\r\n/);
  });

  test("restart keys that changed are logged by key and keep their running value", async (t) => {
    const pki = await getPki();
    const r = await start(t, pki, []);
    const plan = await r.reload([`${A}max_payload = 2MiB`, "plugin.choria.network.client_port = 4999", `${A}max_subscriptions = 5`]);
    const byKey = new Map(plan.changes.map((c) => [c.key, c.reload]));
    assert.equal(byKey.get(`${A}max_payload`), "restart");
    assert.equal(byKey.get("plugin.choria.network.client_port"), "restart");
    assert.equal(byKey.get(`${A}max_subscriptions`), "live");
    assert.equal(r.gw.config.limits.maxPayload, 1024 * 1024, "the running value is kept");
    assert.equal(r.gw.config.clientPort, 0);
    assert.equal(r.gw.config.limits.maxSubscriptions, 5);
    const restart = r.logged("configuration key changed; it takes effect at the next restart, the running value is kept").map((l) => l["key"]);
    assert.deepEqual(restart.sort(), [`${A}max_payload`, "plugin.choria.network.client_port"]);
    assert.deepEqual(r.logged("configuration key changed").map((l) => [l["key"], l["reload"], l["to"]]), [[`${A}max_subscriptions`, "live", "5"]]);
  });
});

describe("reload: live keys change open connections without reconnecting them", () => {
  test("every live key in the table is covered here", () => {
    const covered = new Set([
      "loglevel", `${A}max_subscriptions`, `${A}ping_max`, "plugin.choria.network.client_signer_cert",
      "plugin.choria.security.request_signing_certificate", "plugin.security.issuer.names", "plugin.security.issuer.<name>.public",
      `${A}authenticator`, `${A}clock_skew`, `${A}policies_dir`, `${A}max_token_size`,
      "plugin.choria.network.soft_shutdown_timeout", "soft_shutdown_timeout", `${A}soft_shutdown_timeout`,
      `${A}lame_duck_duration`, `${A}lame_duck_grace_period`, `${A}upstream_readiness`,
    ]);
    const live = KEYS.filter((k) => k.reload === "live").map((k) => k.key);
    for (const key of live) assert.ok(covered.has(key), `live key ${key} has no reload test`);
  });

  test("upstream_readiness: the same links are judged by the new rule at once", async (t) => {
    const r = "plugin.choria.network.leafnode_remote.";
    const w = await startWorld(t, {
      waitReady: false,
      remoteLines: (_hub, pki, leafUrl) => [
        "plugin.choria.network.leafnode_remotes = hub, dead",
        `${r}hub.url = ${leafUrl}`, `${r}hub.tls.cert = ${pki.leaf.cert}`, `${r}hub.tls.key = ${pki.leaf.key}`, `${r}hub.tls.ca = ${pki.ca}`,
        `${r}dead.url = nats://127.0.0.1:1`,
      ],
    });
    const gw = w.g.gw;
    await waitFor("the hub link", () => gw.upstream?.connected || undefined, 20_000);
    assert.equal(gw.ready, false, "all: one remote is down");
    assert.equal((await w.readyz()).status, 503);
    const file = join(w.g.dir, "broker.conf");
    writeFileSync(file, readFileSync(file, "utf8") + `${A}upstream_readiness = any\n`);
    const upstream = gw.upstream;
    await gw.reload(loadConfig(file).config);
    assert.equal(gw.upstream, upstream);
    assert.equal(gw.ready, true, "any: one remote is up");
    assert.equal((await w.readyz()).status, 200);
  });

  test("loglevel: an open connection's debug lines appear after the reload", async (t) => {
    const pki = await getPki();
    const r = await start(t, pki, ["loglevel = info"]);
    const before = await r.raw();
    const after = await r.raw();
    before.send("BOGUS\r\n");
    await before.closed;
    await r.reload(["loglevel = debug"]);
    after.send("BOGUS\r\n");
    await after.closed;
    const errors = r.logged("protocol error");
    assert.equal(errors.length, 1, "only the connection that failed after the reload logged at debug");
  });

  test("max_subscriptions: the limit applies to open connections at once", async (t) => {
    const pki = await getPki();
    const r = await start(t, pki, [`${A}policies_dir = policies-generous`]);
    const c = await r.raw();
    c.send("SUB ops.a 1\r\nSUB ops.b 2\r\nPING\r\n");
    await c.expect(/PONG\r\n/);
    await r.reload([`${A}policies_dir = policies-generous`, `${A}max_subscriptions = 2`]);
    c.send("SUB ops.c 3\r\nPING\r\n");
    await c.expect(/-ERR 'maximum subscriptions exceeded'\r\n/);
  });

  test("ping_max: an open connection that stops answering is closed by the new count", async (t) => {
    const pki = await getPki();
    const r = await start(t, pki, [`${A}ping_interval = 1s`, `${A}ping_max = 100`]);
    const c = await r.raw();
    await c.expect(/PING\r\n/, 5000);
    await c.expect(/PING\r\n/, 5000);
    assert.equal(c.isClosed(), false, "two unanswered PINGs are fine with ping_max 100");
    await r.reload([`${A}ping_interval = 1s`, `${A}ping_max = 1`]);
    await c.expect(/-ERR 'Stale Connection'\r\n/, 10_000);
    await c.closed;
  });

  test("signers: a token the new signers do not trust closes the open connection; the older key is live too", async (t) => {
    const pki = await getPki();
    const r = await start(t, pki, []);
    const c = await r.raw();
    const other = createSigner("ed25519");
    const otherPath = writeSignerFiles(other, r.dir, "other").publicKeyPath;
    await r.reload([`plugin.choria.network.client_signer_cert = ${otherPath}`]);
    await c.expect(/-ERR 'Authorization Violation'\r\n/);
    await c.closed;

    // Trusted again through the older key only: open connections of that signer stay.
    await r.reload([]);
    const e = await r.raw();
    await r.reload([`plugin.choria.network.client_signer_cert = ${otherPath}`, `plugin.choria.security.request_signing_certificate = ${r.signerPath}`]);
    e.send("PING\r\n");
    await e.expect(/PONG\r\n/);
  });

  test("org issuers replace signers: open connections of the old signer are closed", async (t) => {
    const pki = await getPki();
    const r = await start(t, pki, []);
    const c = await r.raw();
    const file = join(r.dir, "broker.conf");
    // Drop the signer line and name an issuer instead.
    const { config } = loadConfig(file);
    const next = { ...config, clientSigners: [], issuers: { acme: createEd25519KeyPair().publicHex } };
    await r.gw.reload(next);
    assert.deepEqual(Object.keys(r.gw.config.issuers), ["acme"]);
    await c.expect(/-ERR 'Authorization Violation'\r\n/);
    await c.closed;
  });

  test("policies_dir and authenticator: an open connection's permissions widen at once", async (t) => {
    const pki = await getPki();
    const r = await start(t, pki, []);
    const c = await r.raw();
    c.send("PUB ops.x 2\r\nhi\r\nPING\r\n");
    await c.expect(/-ERR 'Permissions Violation for Publish to "ops.x"'\r\n/);
    await r.reload([`${A}policies_dir = policies-generous`]);
    c.send("SUB ops.x 1\r\nPUB ops.x 2\r\nhi\r\n");
    await c.expect(/MSG ops.x 1 2\r\nhi\r\n/);

    const d = await r.raw();
    await r.reload([`${A}authenticator = development`]);
    d.send("SUB any.subject 1\r\nPUB any.subject 2\r\nok\r\n");
    await d.expect(/MSG any.subject 1 2\r\nok\r\n/);
  });

  test("clock_skew: a token not yet valid, admitted by the skew, is closed when the skew shrinks", async (t) => {
    const pki = await getPki();
    const r = await start(t, pki, [`${A}clock_skew = 10m`]);
    const now = Math.floor(Date.now() / 1000);
    const c = await r.raw(r.tokens.mint({ iat: now, nbf: now + 300, exp: now + 3600 }));
    await r.reload([`${A}clock_skew = 0s`]);
    await c.expect(/-ERR 'Authorization Violation'\r\n/);
    await c.closed;
  });

  test("max_token_size: an open connection whose token is now too large is closed", async (t) => {
    const pki = await getPki();
    const r = await start(t, pki, []);
    const c = await r.raw();
    await r.reload([`${A}max_token_size = 256`]);
    await c.expect(/-ERR 'Authorization Violation'\r\n/);
    await c.closed;
  });

  test("soft_shutdown_timeout: the shutdown waits the new time for a client that does not go away", async (t) => {
    const pki = await getPki();
    const r = await start(t, pki, ["plugin.choria.network.soft_shutdown_timeout = 60"]);
    const c = await r.raw();
    c.pauseReading();
    await r.reload(["plugin.choria.network.soft_shutdown_timeout = 1"]);
    assert.equal(r.gw.config.softShutdownTimeout, 1000);
    const started = Date.now();
    await r.gw.stop();
    // With the old 60 s the stop would wait for the transport's own 5 s close timer.
    assert.ok(Date.now() - started < 4000, `stop took ${Date.now() - started} ms`);
  });

  test("lame duck duration and grace period: a lame duck started after the reload uses the new window", async (t) => {
    const pki = await getPki();
    const r = await start(t, pki, [`${A}lame_duck_duration = 10m`, `${A}lame_duck_grace_period = 5m`]);
    const c = await r.raw();
    await r.reload([`${A}lame_duck_duration = 1s`, `${A}lame_duck_grace_period = 0s`]);
    await r.gw.enterLameDuck();
    await c.closed;
  });
});
