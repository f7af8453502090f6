/**
 * .creds parsing and nonce signing, against files made by the official NATS
 * JWT library and signatures checked with nkeys.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, createUser, encodeUser, fmtCreds } from "@nats-io/jwt";
import { fromPublic } from "nkeys.js";
import { CredsErrorCode, parseCreds, readCreds, signNonce } from "../../../src/upstream/creds.js";

async function makeCreds(): Promise<{ text: string; jwt: string; userPublic: string }> {
  const account = createAccount(), user = createUser();
  const jwt = await encodeUser("leaf", user, account);
  return { text: new TextDecoder().decode(fmtCreds(jwt, user)), jwt, userPublic: user.getPublicKey() };
}

test("parses the JWT and seed out of an official .creds file", async () => {
  const c = await makeCreds();
  const parsed = parseCreds(c.text);
  assert.equal(parsed.jwt, c.jwt);
  assert.match(parsed.seed, /^SU[A-Z2-7]+$/);
});

test("CRLF line endings and extra prose are tolerated", async () => {
  const c = await makeCreds();
  const parsed = parseCreds(("intro text\n" + c.text + "\ntrailer\n").replace(/\n/g, "\r\n"));
  assert.equal(parsed.jwt, c.jwt);
});

test("the nonce signature is base64url without padding and verifies with the user key", async () => {
  const c = await makeCreds();
  const { seed } = parseCreds(c.text);
  const nonce = "ISaZayIQ8Qq4kGs";
  const sig = signNonce(seed, nonce);
  assert.match(sig, /^[A-Za-z0-9_-]+$/);
  const raw = Buffer.from(sig, "base64url");
  assert.equal(raw.length, 64);
  assert.equal(fromPublic(c.userPublic).verify(new TextEncoder().encode(nonce), raw), true);
  assert.equal(fromPublic(c.userPublic).verify(new TextEncoder().encode("other"), raw), false);
});

test("malformed files are refused with stable codes", async () => {
  const c = await makeCreds();
  const onlyJwt = c.text.slice(0, c.text.indexOf("************************* IMPORTANT"));
  const cases: [string, string][] = [
    ["empty", ""],
    ["one block only", onlyJwt],
    ["first block not a JWT", c.text.replace(c.jwt, "notajwt")],
    ["second block not a user seed", c.text.replace(parseCreds(c.text).seed, "SAAAAAA")],
  ];
  for (const [name, text] of cases) {
    assert.throws(() => parseCreds(text), { code: CredsErrorCode.Malformed }, name);
  }
});

test("readCreds reports an unreadable file with its own code", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "creds-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => readCreds(join(dir, "missing.creds")), { code: CredsErrorCode.Read });
  writeFileSync(join(dir, "bad.creds"), "nothing here");
  assert.throws(() => readCreds(join(dir, "bad.creds")), { code: CredsErrorCode.Malformed });
});
