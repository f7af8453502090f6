/**
 * `aaa-leafnode token mint` and `token inspect` as child processes: signers of
 * both kinds, client tokens whose seed matches their public_key claim, files
 * 0600, inspection that says "valid" and lists the exact subjects (reply
 * namespace and hard restrictions included), and the refusals: an expired
 * token, a token from another signer, a file that is not a JWT.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519KeyPairFromSeed, loadSignerPrivateKey, mintClientToken, createEd25519KeyPair } from "../../src/auth/mint.js";
import { md5Hex } from "../../src/auth/reply_namespace.js";
import { runCli } from "../../src/devkit/cli_process.js";
import { formatSpan } from "../../src/login/keys.js";
import { getPki, type Pki } from "../../src/devkit/pki.js";
import { writeGatewayConf } from "../../src/devkit/world.js";

const mode = (path: string) => statSync(path).mode & 0o777;
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;

describe("aaa-leafnode token", () => {
  let dir: string;
  let pki: Pki;
  let edConf: string;
  let rsaConf: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "aaa-cli-token-"));
    pki = await getPki();
    for (const [sub, type] of [["ed", "ed25519"], ["rsa", "rsa"], ["other", "ed25519"]] as const) {
      const r = await runCli(["token", "mint", "signer", "--out", join(dir, sub), "--type", type]);
      assert.equal(r.code, 0, r.stderr);
    }
    edConf = writeGatewayConf({ dir, pki, signers: [join(dir, "ed", "signer.public")], fileName: "ed.conf" });
    rsaConf = writeGatewayConf({ dir, pki, signers: [join(dir, "rsa", "signer-public.pem")], fileName: "rsa.conf" });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const signerKinds = [
    { sub: "ed", files: ["signer.seed", "signer.public"], alg: "EdDSA" },
    { sub: "rsa", files: ["signer-key.pem", "signer-public.pem"], alg: "RS256" },
  ];
  for (const k of signerKinds) {
    test(`mint signer (${k.sub}): key pair written, private key 0600, config line printed`, async () => {
      const [priv, pub] = k.files.map((f) => join(dir, k.sub, f)) as [string, string];
      assert.equal(mode(priv), 0o600);
      assert.ok(statSync(pub).size > 0);
      assert.equal(loadSignerPrivateKey(priv).alg, k.alg);
      const again = await runCli(["token", "mint", "signer", "--out", join(dir, k.sub), "--type", k.sub === "ed" ? "ed25519" : "rsa"]);
      assert.equal(again.code, 1, "an existing signer is not replaced without --force");
      assert.match(again.stderr, /exists; use --force/);
      assert.match(again.stderr, /development signer/);
    });
  }

  test("mint signer prints the client_signer_cert setting and the development warning", async () => {
    const out = join(dir, "fresh");
    const r = await runCli(["token", "mint", "signer", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`plugin.choria.network.client_signer_cert = ${join(out, "signer.public")}`), r.stdout);
    assert.match(r.stderr, /^WARNING: this is a development signer .* not an AAA service/);
  });

  for (const k of [{ sub: "ed", conf: () => edConf, alg: "EdDSA" }, { sub: "rsa", conf: () => rsaConf, alg: "RS256" }]) {
    test(`mint client (${k.sub} signer) then inspect --config: valid, with the exact subjects`, async () => {
      const tokenFile = join(dir, `alice-${k.sub}.jwt`);
      const mint = await runCli([
        "token", "mint", "client", "--signer", join(dir, k.sub), "--caller", "up=alice",
        "--permissions", "fleet_management,events_viewer", "--pub", "ops.deploy", "--sub", "ops.events.>", "--out", tokenFile,
      ]);
      assert.equal(mint.code, 0, mint.stderr);
      assert.match(mint.stderr, /development signer/);
      const seedFile = join(dir, `alice-${k.sub}.key`);
      assert.equal(mode(tokenFile), 0o600);
      assert.equal(mode(seedFile), 0o600);
      const token = readFileSync(tokenFile, "utf8");
      const claims = claimsOf(token);
      assert.equal(claims["callerid"], "up=alice");
      assert.equal(claims["public_key"], ed25519KeyPairFromSeed(readFileSync(seedFile, "utf8")).publicHex);
      assert.deepEqual(claims["permissions"], { fleet_management: true, events_viewer: true });
      assert.equal(Number(claims["exp"]) - Number(claims["iat"]), 3600);

      const t0 = Date.now();
      const r = await runCli(["token", "inspect", tokenFile, "--config", k.conf()]);
      const t1 = Date.now();
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.ok(r.stdout.includes(`header: {"alg":"${k.alg}","typ":"JWT"}`), r.stdout);
      assert.match(r.stdout, /^verification: valid \(signed by .*signer/m);
      // The remaining time depends on when inspect ran (mint and inspect may share a second,
      // giving "1h 0m", or not, giving "59m Ns"): it must be what the formatter gives for some
      // instant between starting and finishing the inspect process.
      const shown = /^expires: +\S+ \(in ([^)]+)\)$/m.exec(r.stdout)?.[1];
      assert.ok(shown, r.stdout);
      const expMs = Number(claims["exp"]) * 1000;
      const possible = new Set<string>();
      for (let t = t0; t <= t1; t += 1) possible.add(formatSpan(expMs - t));
      assert.ok(possible.has(shown), `"${shown}" is not one of ${[...possible].join(", ")}`);
      const ns = `choria.reply.${md5Hex("up=alice")}`;
      assert.ok(r.stdout.includes(`reply namespace: ${ns}.>`), r.stdout);
      const section = (title: string) => r.stdout.split(title)[1]!.split(/\n(?=\S)/)[0]!.trim().split("\n").map((l) => l.trim());
      assert.deepEqual(section("may publish to:"), ["*.broadcast.agent.>", "*.broadcast.service.>", "*.node.>", "choria.federation.*.federation", "$SYS.REQ.USER.INFO", "ops.deploy"]);
      const subs = section("may subscribe to:");
      assert.ok(subs.includes(`*.reply.${md5Hex("up=alice")}.>`), subs.join("\n"));
      assert.ok(subs.includes("ops.events.>"));
      assert.ok(subs.includes("choria.lifecycle.event.> [granted, but refused by a hard restriction]"));
      assert.ok(section("may never subscribe to (policy denies and hard restrictions):").includes("choria.lifecycle.>"));
    });
  }

  test("an expired token: EXPIRED, and inspect --config exits 1 with the reason", async () => {
    const signer = loadSignerPrivateKey(join(dir, "ed", "signer.seed"));
    const now = Math.floor(Date.now() / 1000);
    const file = join(dir, "expired.jwt");
    writeFileSync(file, mintClientToken(signer, { callerid: "up=late", publicKey: createEd25519KeyPair().publicHex, iat: now - 7200, exp: now - 3600 }));
    const r = await runCli(["token", "inspect", file, "--config", edConf]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^expires: +\S+ \(EXPIRED 1h 0m ago\)$/m);
    assert.match(r.stdout, /^verification: INVALID GW_ERR_AUTH_EXPIRED: token expired at /m);
    const unverified = await runCli(["token", "inspect", file]);
    assert.equal(unverified.code, 1, "an expired token is not fine even undecoded");
    assert.match(unverified.stdout, /EXPIRED/);
    assert.match(unverified.stdout, /NOT VERIFIED/);
  });

  test("a token from another signer: exit 1, bad signature", async () => {
    const file = join(dir, "mallory.jwt");
    const mint = await runCli(["token", "mint", "client", "--signer", join(dir, "other"), "--caller", "up=mallory", "--permissions", "org_admin", "--out", file]);
    assert.equal(mint.code, 0, mint.stderr);
    const r = await runCli(["token", "inspect", file, "--config", edConf]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^verification: INVALID GW_ERR_AUTH_BAD_SIGNATURE: signature does not verify/m);
    assert.doesNotMatch(r.stdout, /may publish to/);
    const wrongKind = await runCli(["token", "inspect", file, "--config", rsaConf]);
    assert.equal(wrongKind.code, 1);
    assert.match(wrongKind.stdout, /GW_ERR_AUTH_BAD_SIGNATURE: no ed25519 signer configured/);
  });

  test("without --config: decoded and labelled NOT VERIFIED; standard input works", async () => {
    const token = readFileSync(join(dir, "alice-ed.jwt"), "utf8");
    const r = await runCli(["token", "inspect", "-"], { input: token + "\n" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"callerid": "up=alice"/);
    assert.match(r.stdout, /^verification: NOT VERIFIED/m);
  });

  const unreadable = [
    { name: "a missing file", content: null, text: /cannot read .*: ENOENT/ },
    { name: "a file that is not a JWT", content: "hello.world", text: /is not a JWT/ },
    { name: "a JWT whose claims are not JSON", content: "eyJhbGciOiJFZERTQSJ9.bm90IGpzb24.c2ln", text: /is not a JWT/ },
  ];
  for (const u of unreadable) {
    test(`inspect of ${u.name}: exit 1`, async () => {
      const file = join(dir, `bad-${u.name.replace(/\W+/g, "-")}`);
      if (u.content !== null) writeFileSync(file, u.content);
      const r = await runCli(["token", "inspect", file, "--config", edConf]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, u.text);
    });
  }

  const usage = [
    { args: ["mint", "client", "--signer", "x"], text: /needs --caller/ },
    { args: ["mint", "client", "--signer", "x", "--caller", "a", "--permissions", "root"], text: /unknown permission "root"/ },
    { args: ["mint", "client", "--signer", "x", "--caller", "a", "--pub", "a..b"], text: /invalid subject/ },
    { args: ["mint", "client", "--signer", "x", "--caller", "a", "--validity", "forever"], text: /--validity/ },
    { args: ["mint", "signer"], text: /needs --out DIR/ },
    { args: ["mint"], text: /needs `signer` or `client`/ },
    { args: ["inspect"], text: /needs exactly one FILE/ },
    { args: ["inspect", "a", "--bogus"], text: /unknown option --bogus/ },
  ];
  for (const u of usage) {
    test(`usage error: token ${u.args.join(" ")} (exit 2)`, async () => {
      const r = await runCli(["token", ...u.args]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, u.text);
    });
  }
});
