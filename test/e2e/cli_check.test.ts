/**
 * `aaa-leafnode check` run as a child process against broker.conf files
 * written at test time (devkit PKI and signer): a valid configuration prints
 * the effective settings, the policy summary and the hard restrictions with
 * exit 0; each kind of broken configuration exits 1 with a message naming the
 * file, the line and the key.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSigner, writeSignerFiles } from "../../src/auth/mint.js";
import { runCli } from "../../src/devkit/cli_process.js";
import { getPki, type Pki } from "../../src/devkit/pki.js";
import { gatewayConfText } from "../../src/devkit/world.js";

describe("aaa-leafnode check", () => {
  let dir: string;
  let pki: Pki;
  let signerPublic: string;
  let base: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "aaa-cli-check-"));
    pki = await getPki();
    signerPublic = writeSignerFiles(createSigner("ed25519"), dir, "signer").publicKeyPath;
    base = gatewayConfText({ dir, pki, signers: [signerPublic] });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Write `base` plus `extra` lines; returns the file and the line number of the first extra line. */
  function conf(name: string, extra: string[] = [], text = base): { file: string; line: number } {
    const file = join(dir, name);
    writeFileSync(file, text + extra.map((l) => l + "\n").join(""));
    return { file, line: text.split("\n").length };
  }

  test("a valid configuration: exit 0, settings, policies and hard restrictions", async () => {
    const { file } = conf("valid.conf");
    const r = await runCli(["check", "--config", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configuration is valid/);
    assert.match(r.stdout, /^plugin\.choria\.network\.client_port = 0$/m);
    assert.match(r.stdout, /^plugin\.choria\.network\.listen_address = 127\.0\.0\.1$/m);
    assert.match(r.stdout, /^main_collective = choria$/m);
    // Settings are grouped by when a change takes effect on reload, each key under its class.
    const section = (heading: RegExp) => r.stdout.slice(r.stdout.search(heading)).split("\n\n")[0]!;
    const live = section(/^# on reload: live/m);
    const fresh = section(/^# on reload: new connections/m);
    const restart = section(/^# on reload: restart/m);
    assert.match(live, /^loglevel = /m);
    assert.match(live, /^plugin\.choria\.network\.aaa_leafnode\.max_subscriptions = 1000$/m);
    assert.match(fresh, /^plugin\.security\.file\.certificate = /m);
    assert.match(fresh, /^plugin\.choria\.network\.aaa_leafnode\.tls_min_version = 1\.2$/m);
    assert.match(restart, /^plugin\.choria\.network\.client_port = 0$/m);
    assert.doesNotMatch(restart, /^loglevel/m);
    assert.ok(r.stdout.includes(`signer ${signerPublic} (ed25519)`), r.stdout);
    assert.match(r.stdout, /^ {2}fleet_management: when permission fleet_management or permission signed_fleet_management$/m);
    assert.match(r.stdout, /^ {4}publish: +\*\.broadcast\.agent\.>, \*\.broadcast\.service\.>, \*\.node\.>/m);
    assert.match(r.stdout, /^ {2}minimal: when always$/m);
    assert.match(r.stdout, /no subscription may intersect choria\.lifecycle\.>/);
    assert.equal(r.stderr, "");
  });

  test("an unknown key is a warning naming file, line and key; still valid", async () => {
    const { file, line } = conf("unknown.conf", ["plugin.choria.network.no_such_thing = 1"]);
    const r = await runCli(["check", "--config", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.includes(`warning: ${file}:${line}: plugin.choria.network.no_such_thing: unknown key, ignored\n`), r.stderr);
  });

  test("a mistyped key: the warning names the key it most likely meant; --strict makes it an error", async () => {
    const { file, line } = conf("typo.conf", ["plugin.choria.network.clinet_port = 4333"]);
    const r = await runCli(["check", "--config", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.includes(`warning: ${file}:${line}: plugin.choria.network.clinet_port: unknown key, ignored; did you mean plugin.choria.network.client_port?\n`), r.stderr);
    const strict = await runCli(["check", "--strict", "--config", file]);
    assert.equal(strict.code, 1, strict.stdout + strict.stderr);
    assert.equal(strict.stderr, `error: ${file}:${line}: plugin.choria.network.clinet_port: unknown key (refused by --strict); did you mean plugin.choria.network.client_port?\n${file}: configuration is invalid (1 error)\n`);
    assert.equal(strict.stdout, "");
    // --strict passes a file without unknown keys, and keeps other warnings warnings.
    const { file: other } = conf("strict-ok.conf", ["plugin.choria.network.pprof_port = 0"]);
    const ok = await runCli(["check", "--strict", "--config", other]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /^warning: .*pprof_port: ignored: /m);
    assert.match(ok.stdout, /configuration is valid/);
  });

  test("a certificate that is not one: exit 1 naming file, line and key", async () => {
    const bad = join(dir, "not-a-cert.pem");
    writeFileSync(bad, "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n");
    const { file, line } = conf("bad-cert.conf", [`plugin.security.file.certificate = ${bad}`]);
    const r = await runCli(["check", "--config", file]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`error: ${file}:${line}: plugin.security.file.certificate: listener certificate ${bad} cannot be loaded: `), r.stderr);
  });

  test("a key that does not go with its certificate: exit 1 naming the key's line and the certificate's", async () => {
    const text = base.replace(pki.gateway.key, pki.hub.key);
    const lineOf = (key: string) => text.split("\n").findIndex((l) => l.startsWith(`${key} =`)) + 1;
    const { file } = conf("mismatch.conf", ["plugin.choria.network.leafnode_remotes = hub", "plugin.choria.network.leafnode_remote.hub.url = tls://127.0.0.1:7422"], text);
    const r = await runCli(["check", "--config", file]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `error: ${file}:${lineOf("plugin.security.file.key")}: plugin.security.file.key: listener key ${pki.hub.key} does not go with the certificate ${pki.gateway.cert} `
      + `(plugin.security.file.certificate, line ${lineOf("plugin.security.file.certificate")}): error:05800074:x509 certificate routines::key values mismatch\n${file}: configuration is invalid (1 error)\n`);
  });

  test("a missing certificate used by the listeners and a remote is reported once", async () => {
    const missing = join(dir, "gone.pem");
    const text = base.replace(pki.gateway.cert, missing);
    const { file } = conf("missing.conf", ["plugin.choria.network.leafnode_remotes = hub", "plugin.choria.network.leafnode_remote.hub.url = tls://127.0.0.1:7422"], text);
    const line = text.split("\n").findIndex((l) => l.startsWith("plugin.security.file.certificate =")) + 1;
    const r = await runCli(["check", "--config", file]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `error: ${file}:${line}: plugin.security.file.certificate: listener certificate file ${missing} (also the remote "hub" certificate file): not found\n${file}: configuration is invalid (1 error)\n`);
  });

  const broken: { name: string; extra: string[]; key: string; text: RegExp }[] = [
    { name: "a refused cluster key", extra: ["plugin.choria.network.peers = nats://127.0.0.1:4223"], key: "plugin.choria.network.peers", text: /refused: this gateway forms no cluster/ },
    { name: "a refused leafnode listener", extra: ["plugin.choria.network.leafnode_port = 7422"], key: "plugin.choria.network.leafnode_port", text: /refused: this gateway accepts no leafnodes/ },
    { name: "a bad value", extra: ["plugin.choria.network.auth_timeout = soon"], key: "plugin.choria.network.auth_timeout", text: /not a duration/ },
  ];
  for (const c of broken) {
    test(`${c.name}: exit 1 naming file, line and key`, async () => {
      const { file, line } = conf(`broken-${c.key}.conf`, c.extra);
      const r = await runCli(["check", "--config", file]);
      assert.equal(r.code, 1);
      assert.ok(r.stderr.includes(`error: ${file}:${line}: ${c.key}: `), r.stderr);
      assert.match(r.stderr, c.text);
      assert.match(r.stderr, /configuration is invalid \(1 error\)/);
      assert.equal(r.stdout, "");
    });
  }

  test("several problems are all reported at once", async () => {
    const { file, line } = conf("many.conf", ["plugin.choria.network.peers = nats://x:1", "plugin.choria.network.gateway_port = 7222"]);
    const r = await runCli(["check", "--config", file]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`${file}:${line}: plugin.choria.network.peers`), r.stderr);
    assert.ok(r.stderr.includes(`${file}:${line + 1}: plugin.choria.network.gateway_port`), r.stderr);
    assert.match(r.stderr, /\(2 errors\)/);
  });

  test("a signer file that holds no key is an error naming the key", async () => {
    const garbage = join(dir, "garbage.public");
    writeFileSync(garbage, "not a key\n");
    const { file } = conf("bad-signer.conf", [], gatewayConfText({ dir, pki, signers: [garbage] }));
    const r = await runCli(["check", "--config", file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /plugin\.choria\.network\.client_signer_cert: invalid signer .*garbage\.public/);
  });

  test("a missing signer file is an error naming line and key", async () => {
    const { file } = conf("missing-signer.conf", [], gatewayConfText({ dir, pki, signers: [join(dir, "absent.public")] }));
    const line = base.split("\n").findIndex((l) => l.startsWith("plugin.choria.network.client_signer_cert")) + 1;
    const r = await runCli(["check", "--config", file]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`${file}:${line}: plugin.choria.network.client_signer_cert: AAA signer file`), r.stderr);
    assert.match(r.stderr, /not found/);
  });

  test("usage: --config is required (exit 2); an unreadable file exits 1", async () => {
    const none = await runCli(["check"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--config FILE is required/);
    const missing = await runCli(["check", "--config", join(dir, "nope.conf")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read the configuration file: ENOENT/);
  });
});
