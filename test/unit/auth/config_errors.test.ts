/**
 * Start-time errors: policy files that fail validation name the file and the
 * offending path; signer entries that cannot be loaded name the config key and
 * the entry; the shipped policy set loads cleanly.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../../src/errors.js";
import { defaultPoliciesDir, loadPolicies } from "../../../src/auth/policies.js";
import { loadIssuers, loadSigner, loadSigners } from "../../../src/auth/signers.js";
import { createSigner, tempDir, writeSignerFiles } from "../../helpers/tokens.js";

describe("policy files", () => {
  test("the shipped policies load", () => {
    const names = loadPolicies(defaultPoliciesDir()).map((p) => p.name).sort();
    assert.deepEqual(names, [
      "election_user", "events_viewer", "fleet_management", "governor", "minimal",
      "org_admin", "streams_admin", "streams_user", "token_subjects",
    ]);
  });

  const bad: [string, string, RegExp][] = [
    ["not json", "{ nope", /not readable JSON/],
    ["unknown permission flag", JSON.stringify({ when: { permission: "org_admn" } }), /when\.permission/],
    ["unknown template variable", JSON.stringify({ when: { always: true }, subscribe: ["ok", "{{user}}.x"] }), /subscribe\.1: unknown template variable \{\{user\}\}/],
    ["invalid subject", JSON.stringify({ when: { always: true }, publish: ["foo..bar"] }), /publish\.0: invalid subject/],
    ["misspelt key", JSON.stringify({ when: { always: true }, publsh: ["x"] }), /publsh/],
    ["two keys in one condition", JSON.stringify({ when: { always: true, permission: "governor" } }), /when: a condition has exactly one of/],
    ["nested condition error", JSON.stringify({ when: { all: [{ always: true }, { account: "" }] } }), /when\.all\.1\.account/],
    ["missing condition", JSON.stringify({ publish: ["x"] }), /when/],
    ["wrong type", JSON.stringify({ when: { always: true }, publish: "x" }), /publish/],
  ];
  for (const [name, content, pattern] of bad) {
    test(`${name}: the error names the file and the problem`, (t) => {
      const dir = tempDir(t);
      writeFileSync(join(dir, "a_good.json"), JSON.stringify({ when: { always: true }, publish: ["x"] }));
      const file = join(dir, "broken.json");
      writeFileSync(file, content);
      assert.throws(
        () => loadPolicies(dir),
        (err: unknown) => err instanceof ConfigError && err.file === file && err.message.includes(file) && pattern.test(err.message),
      );
    });
  }

  test("duplicate policy names and an empty directory are refused", (t) => {
    const dir = tempDir(t);
    assert.throws(() => loadPolicies(dir), /no policy files/);
    writeFileSync(join(dir, "one.json"), JSON.stringify({ name: "same", when: { always: true } }));
    writeFileSync(join(dir, "two.json"), JSON.stringify({ name: "same", when: { always: true } }));
    assert.throws(() => loadPolicies(dir), (err: unknown) => err instanceof ConfigError && /also used by .*one\.json/.test(err.message));
    assert.throws(() => loadPolicies(join(dir, "missing")), /cannot read policies directory/);
  });
});

describe("signer entries", () => {
  test("bad entries name the config key and the entry", (t) => {
    const dir = tempDir(t);
    const short = join(dir, "short.public");
    writeFileSync(short, "abcd");
    const garbagePem = join(dir, "garbage.pem");
    writeFileSync(garbagePem, "-----BEGIN CERTIFICATE-----\nnotbase64\n-----END CERTIFICATE-----\n");
    const ecPem = join(dir, "ec.pem");
    writeFileSync(ecPem, generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "pem", type: "spki" }));
    for (const [entry, pattern] of [
      [join(dir, "missing.pem"), /cannot read signer/],
      [short, /invalid signer/],
      [garbagePem, /invalid signer/],
      [ecPem, /unsupported key type ec/],
    ] as const) {
      assert.throws(
        () => loadSigner(entry, "plugin.choria.security.request_signing_certificate"),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.key === "plugin.choria.security.request_signing_certificate" &&
          err.message.includes(entry) &&
          pattern.test(err.message),
        entry,
      );
    }
  });

  test("entries load in order with their types; blank entries are skipped", (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, "k"));
    const rsa = writeSignerFiles(createSigner("rsa"), join(dir, "k"), "rsa").publicKeyPath;
    const ed = createSigner("ed25519").publicHex!;
    const keys = loadSigners([rsa, " ", ed.toUpperCase()]);
    assert.deepEqual(keys.map((k) => k.type), ["rsa", "ed25519"]);
    assert.equal(keys[0]!.source, rsa);
  });

  test("issuer keys must be hex ed25519 and name their key", () => {
    assert.equal(loadIssuers({ choria: "AB".repeat(32) }).get("choria")!.publicHex, "ab".repeat(32));
    assert.throws(() => loadIssuers({ acme: "xyz" }), (err: unknown) => err instanceof ConfigError && err.key === "plugin.security.issuer.acme.public");
  });
});
