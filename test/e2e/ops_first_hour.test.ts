/**
 * An operator's first hour with trial certificates: `aaa-leafnode devkit pki
 * --out DIR` writes a CA, the gateway's, hub's and leaf's certificates and an
 * AAA signer; the broker.conf lines it prints start a real gateway (a child
 * process) whose mTLS link comes up to a real nats-server hub using the trial
 * hub certificate; the token command it prints mints a client; and the README's
 * stock nats.js client (docs/examples/connect.mjs, included in README.md
 * verbatim) connects through the gateway with that token by signing the nonce,
 * and is refused when it signs with another key.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { packageRoot, runCli } from "../../src/devkit/cli_process.js";
import { startHub } from "../../src/devkit/hub.js";
import type { Pki } from "../../src/devkit/pki.js";
import { opsDir, spawnGateway } from "./ops_world.js";

const EXAMPLE = join(packageRoot(), "docs", "examples", "connect.mjs");

/** The lines of the printed step that starts with `heading`, up to the next blank line. */
function step(out: string, heading: string): string[] {
  const from = out.indexOf(heading);
  assert.ok(from >= 0, `step ${heading} in:\n${out}`);
  return out.slice(from).split("\n\n")[0]!.split("\n").slice(1);
}

function runExample(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [EXAMPLE, ...args], { encoding: "utf8", timeout: 30_000 });
}

test("devkit pki: trial certificates and a signer whose printed next steps make a working gateway, hub link and client", async (t) => {
  const dir = opsDir(t, "aaa-first-hour-");
  const pkiDir = join(dir, "pki");
  const made = await runCli(["devkit", "pki", "--out", pkiDir, "--host", "gw.example.test", "--days", "10"]);
  assert.equal(made.code, 0, made.stdout + made.stderr);
  const file = (name: string) => join(pkiDir, name);
  for (const f of ["ca.pem", "gateway.pem", "gateway.key", "hub.pem", "hub.key", "leaf.pem", "leaf.key", "signer.seed", "signer.public"]) {
    assert.ok(existsSync(file(f)), f);
  }
  for (const f of ["ca.key", "gateway.key", "hub.key", "leaf.key", "signer.seed"]) assert.equal(statSync(file(f)).mode & 0o077, 0, `${f} is private`);
  const ca = new X509Certificate(readFileSync(file("ca.pem")));
  const gateway = new X509Certificate(readFileSync(file("gateway.pem")));
  assert.ok(gateway.verify(ca.publicKey), "the CA signed the gateway certificate");
  assert.match(gateway.subjectAltName ?? "", /DNS:gw\.example\.test/);
  assert.match(gateway.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
  const days = (Date.parse(gateway.validTo) - Date.parse(gateway.validFrom)) / 86_400_000;
  assert.ok(Math.abs(days - 10) < 1, `valid ${days} days`);

  // A second run into the same folder does not replace the CA.
  const again = await runCli(["devkit", "pki", "--out", pkiDir]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already holds a CA .*--force/);
  assert.equal(new X509Certificate(readFileSync(file("ca.pem"))).fingerprint256, ca.fingerprint256);

  // Step 2: a real hub with the trial hub certificate on an mTLS leafnode port.
  const pki = { dir: pkiDir, ca: file("ca.pem"), hub: { cert: file("hub.pem"), key: file("hub.key") }, leaf: { cert: file("leaf.pem"), key: file("leaf.key") },
    gateway: { cert: file("gateway.pem"), key: file("gateway.key") }, untrustedCa: file("ca.pem"), untrustedClient: { cert: file("leaf.pem"), key: file("leaf.key") } } satisfies Pki;
  const hub = await startHub({ pki, dir: join(dir, "hub") });
  t.after(() => hub.stop());
  // Step 1: the printed broker.conf lines, the hub's address filled in, loopback and a free port.
  const conf = step(made.stdout, "1. The gateway's broker.conf").map((l) => l.replace("tls://HUB-HOST:7422", hub.leafUrl));
  const gw = await spawnGateway(t, dir, ["plugin.choria.network.listen_address = 127.0.0.1", "plugin.choria.network.client_port = 0", ...conf]);
  const up = await gw.waitLogged("upstream connected");
  assert.equal(up["tls"], true);

  // Step 3: the printed token command, run as printed from the folder of the client.
  const mint = step(made.stdout, "3. A client token")[0]!.split(" ");
  assert.equal(mint[0], "aaa-leafnode");
  const minted = await runCli(mint.slice(1), { cwd: dir });
  assert.equal(minted.code, 0, minted.stderr);

  // The README's stock client: token plus the nonce signed with the token's key.
  const ok = runExample([gw.url, file("ca.pem"), join(dir, "alice.jwt"), join(dir, "alice.key")]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^connected to \S+, round trip \d+ ms$/m);
  // The same token with a nonce signed by another key is refused.
  const other = await runCli(["token", "mint", "client", "--signer", pkiDir, "--caller", "up=mallory", "--out", "mallory.jwt"], { cwd: dir });
  assert.equal(other.code, 0, other.stderr);
  const refused = runExample([gw.url, file("ca.pem"), join(dir, "alice.jwt"), join(dir, "mallory.key")]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /Authorization Violation/i);
  await gw.waitLogged("connection refused");
});

test("README.md includes the tested client example verbatim", () => {
  const readme = readFileSync(join(packageRoot(), "README.md"), "utf8");
  const example = readFileSync(EXAMPLE, "utf8");
  assert.ok(readme.includes("```js\n" + example + "```\n"), "README.md holds docs/examples/connect.mjs in a js block");
});
