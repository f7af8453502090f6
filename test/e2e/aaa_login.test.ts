/**
 * "the token connects through the gateway": a login to the test AAA
 * service (aaasvc's /choria/v1/login, RS256 signer) leaves a token file and a
 * seed file, and a gateway configured with that service's signer public key
 * accepts a connection made from exactly those files (nonce signed with the
 * seed), with the permissions the service put in the token. The same holds
 * when the login goes through the gateway's own login relay (HTTPS with the
 * gateway's certificate, so the `aaa-leafnode login` child gets `--ca`). A
 * token from another AAA service, or the right token with another seed, is
 * refused.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { NatsConnection } from "@nats-io/transport-node";
import { getPki, type Pki } from "../helpers/pki.js";
import { natsConnectWithToken, startGateway, type TestGateway } from "../helpers/gateway.js";
import { waitFor } from "../helpers/hub.js";
import { startTestAaaService, type TestAaaService } from "../helpers/aaa_service.js";
import { createEd25519KeyPair } from "../helpers/tokens.js";
import { performLogin, type LoginIo } from "../../src/login/command.js";
import { runCli } from "../../src/devkit/cli_process.js";

const PASSWORD = "gateway-L0gin";
const enc = new TextEncoder();
const dec = new TextDecoder();

function quietIo(home: string): LoginIo {
  return { stdin: new PassThrough(), stdout: { write: () => true }, stderr: { write: () => true }, env: { HOME: home } };
}

describe("AAA login → token and seed files → connection through the gateway", () => {
  let pki: Pki;
  let svc: TestAaaService;
  let g: TestGateway;
  let dir: string;
  let pw: string;
  const conns: NatsConnection[] = [];

  /** Log in directly to the AAA service; returns the paths written. */
  const directLogin = async (user: string, name: string, url = svc.loginUrl): Promise<{ tokenFile: string; seedFile: string; token: string }> => {
    const tokenFile = join(dir, name, "token");
    const seedFile = join(dir, name, "seed");
    const r = await performLogin(["--url", url, "--token-file", tokenFile, "--seed-file", seedFile, "--user", user, "--password-file", pw], quietIo(dir));
    assert.equal(r.tokenFile, tokenFile);
    assert.equal(r.seedFile, seedFile);
    return { tokenFile, seedFile, token: r.token };
  };
  /** Connect the official client from the files alone, as a Choria client would. */
  const connectFromFiles = async (files: { tokenFile: string; seedFile: string }, name: string): Promise<NatsConnection> => {
    const token = readFileSync(files.tokenFile, "utf8").trim();
    const seed = readFileSync(files.seedFile, "utf8").trim();
    const nc = await natsConnectWithToken(g.url, pki, token, seed, { name });
    conns.push(nc);
    return nc;
  };
  /** `ops` (org_admin) answers rpcutil requests; `alice` (fleet_management) asks one through the gateway. */
  const roundTrip = async (alice: NatsConnection, ops: NatsConnection, body: string): Promise<string> => {
    const sub = ops.subscribe("choria.broadcast.agent.rpcutil", { max: 1, callback: (_e, m) => void m.respond(enc.encode(`pong:${dec.decode(m.data)}`)) });
    await ops.flush();
    const r = await alice.request("choria.broadcast.agent.rpcutil", enc.encode(body), { timeout: 10_000 });
    await sub.closed;
    return dec.decode(r.data);
  };
  const connectAudits = (callerId: string): number => g.audit.records().filter((r) => r.audit === "connect" && r.callerId === callerId).length;

  before(async () => {
    pki = await getPki();
    dir = mkdtempSync(join(tmpdir(), "aaa-login-e2e-"));
    pw = join(dir, "password");
    writeFileSync(pw, PASSWORD + "\n");
    svc = await startTestAaaService({
      users: {
        alice: { password: PASSWORD, permissions: { fleet_management: true } },
        ops: { password: PASSWORD, permissions: { org_admin: true } },
      },
    });
    const signerPem = join(dir, "aaa-signer.pem");
    writeFileSync(signerPem, svc.signerPublicKeyPem);
    g = await startGateway(pki, [
      `plugin.choria.network.client_signer_cert = ${signerPem}`,
      "plugin.choria.network.aaa_leafnode.login_relay_port = -1",
      `plugin.login.aaasvc.login.url = ${svc.url}`,
      // Gateway.stop() leaves a timer of this length running; keep it short so the file ends promptly.
      "plugin.choria.network.aaa_leafnode.soft_shutdown_timeout = 1s",
    ]);
    assert.ok(g.gw.loginRelayPort > 0, "the login relay listens");
  });
  after(async () => {
    await Promise.allSettled(conns.map((nc) => nc.close()));
    await g?.stop();
    await svc?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a direct login's token and seed files connect, with the permissions the service granted", async () => {
    const alice = await directLogin("alice", "direct-alice");
    const ops = await directLogin("ops", "direct-ops");
    const aliceNc = await connectFromFiles(alice, "alice-direct");
    const opsNc = await connectFromFiles(ops, "ops-direct");
    assert.equal(aliceNc.info?.auth_required, true);
    assert.equal(await roundTrip(aliceNc, opsNc, "direct"), "pong:direct");
    await waitFor("connect audited as up=alice", () => connectAudits("up=alice") > 0 || undefined);

    // fleet_management does not let alice subscribe to the broadcast subjects.
    const denied = aliceNc.subscribe("choria.broadcast.agent.>");
    await assert.rejects(
      (async () => {
        for await (const _m of denied) break;
      })(),
      /Permissions Violation for Subscription to "choria\.broadcast\.agent\.>"/,
    );
    assert.equal(aliceNc.isClosed(), false);
  });

  test("a login through the gateway's relay (the CLI as a child process, --ca for the gateway's certificate) connects too", async () => {
    const loginsBefore = svc.requests.login;
    const tokenFile = join(dir, "relay-alice", "token");
    const seedFile = join(dir, "relay-alice", "seed");
    const relayUrl = `https://127.0.0.1:${g.gw.loginRelayPort}/choria/v1/login`;
    const r = await runCli(
      ["login", "--url", relayUrl, "--token-file", tokenFile, "--seed-file", seedFile, "--user", "alice", "--password-file", pw, "--ca", pki.ca],
      { env: { HOME: dir }, timeoutMs: 30_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Logged in via ${relayUrl.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    assert.match(r.stdout, /Caller ID: up=alice/);
    assert.equal(svc.requests.login, loginsBefore + 1, "the relay passed the login on to the AAA service");

    const ops = await directLogin("ops", "relay-ops");
    const aliceNc = await connectFromFiles({ tokenFile, seedFile }, "alice-relay");
    const opsNc = await connectFromFiles(ops, "ops-relay");
    assert.equal(await roundTrip(aliceNc, opsNc, "relayed"), "pong:relayed");
  });

  test("the relay without --ca fails on the gateway's certificate and writes nothing usable", async () => {
    const tokenFile = join(dir, "relay-noca", "token");
    const r = await runCli(
      ["login", "--url", `https://127.0.0.1:${g.gw.loginRelayPort}/choria/v1/login`, "--token-file", tokenFile, "--user", "alice", "--password-file", pw],
      { env: { HOME: dir }, timeoutMs: 30_000 },
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^aaa-leafnode login: .*127\.0\.0\.1:\d+\/choria\/v1\/login .*TLS verification failed/);
    assert.throws(() => readFileSync(tokenFile), /ENOENT/);
  });

  test("refused: a token from another AAA service, and the right token with another seed", async (t) => {
    const other = await startTestAaaService({ users: { alice: { password: PASSWORD, permissions: { fleet_management: true } } } });
    t.after(() => other.close());
    const foreign = await directLogin("alice", "other-service", other.loginUrl);
    await assert.rejects(connectFromFiles(foreign, "alice-foreign"), /Authorization Violation/i);

    const alice = await directLogin("alice", "wrong-seed");
    const wrongSeed = join(dir, "wrong-seed", "other.seed");
    writeFileSync(wrongSeed, createEd25519KeyPair().seedHex);
    await assert.rejects(connectFromFiles({ tokenFile: alice.tokenFile, seedFile: wrongSeed }, "alice-wrong-seed"), /Authorization Violation/i);

    const codes = g.audit.records().filter((r) => r.audit === "refused").map((r) => r.code);
    assert.ok(codes.includes("GW_ERR_AUTH_BAD_SIGNATURE"), `refusal codes ${codes.join(", ")}`);
    assert.ok(codes.includes("GW_ERR_AUTH_NONCE"), `refusal codes ${codes.join(", ")}`);
  });
});
