/**
 * Unit tests of the key and file handling behind `aaa-leafnode login`: the
 * ed25519 seed → public key mapping (RFC 8032 vector), the login signature,
 * seed-file loading, 0600/0700 file writing, and the display-only JWT decode.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey, verify } from "node:crypto";
import { mkdtempSync, rmSync, statSync, readFileSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { identityFromSeed, generateIdentity, signLogin, loadSeedFile, writePrivateFile, decodeJwtPayload, summarizeToken, formatRemaining } from "../../../src/login/keys.js";
import { LoginErrorCode } from "../../../src/login/errors.js";

const RFC8032_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PUB = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "login-keys-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("ed25519 identity", () => {
  test("seed → public key matches RFC 8032 test 1", () => {
    assert.equal(identityFromSeed(Buffer.from(RFC8032_SEED, "hex")).publicKeyHex, RFC8032_PUB);
  });

  test("signLogin signs exactly '<timestamp>:<user>:<password>'", () => {
    const id = generateIdentity();
    assert.match(id.publicKeyHex, /^[0-9a-f]{64}$/);
    const sigHex = signLogin(id, "1732350000", "bob", "pa:ss");
    assert.match(sigHex, /^[0-9a-f]{128}$/);
    const pub = createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(id.publicKeyHex, "hex")]), format: "der", type: "spki" });
    assert.equal(verify(null, Buffer.from("1732350000:bob:pa:ss"), pub, Buffer.from(sigHex, "hex")), true);
    assert.equal(verify(null, Buffer.from("1732350001:bob:pa:ss"), pub, Buffer.from(sigHex, "hex")), false);
  });

  test("a seed of the wrong length is refused", () => {
    assert.throws(() => identityFromSeed(Buffer.alloc(31)), { code: LoginErrorCode.Seed });
  });
});

describe("loadSeedFile", () => {
  test("missing → null; hex seed (with newline) → identity; junk → error", async (t) => {
    const dir = tempDir(t);
    assert.equal(await loadSeedFile(join(dir, "none.key")), null);
    writeFileSync(join(dir, "ok.key"), RFC8032_SEED + "\n");
    assert.equal((await loadSeedFile(join(dir, "ok.key")))!.publicKeyHex, RFC8032_PUB);
    writeFileSync(join(dir, "bad.key"), "-----BEGIN PRIVATE KEY-----\n");
    await assert.rejects(loadSeedFile(join(dir, "bad.key")), { code: LoginErrorCode.Seed });
  });
});

describe("writePrivateFile", () => {
  test("creates the directory 0700 and the file 0600, atomically replacing content", async (t) => {
    const dir = tempDir(t);
    const file = join(dir, "nested", ".choria", "token");
    await writePrivateFile(file, "one");
    await writePrivateFile(file, "two");
    assert.equal(readFileSync(file, "utf8"), "two");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "nested", ".choria")).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(dir, "nested", ".choria")), ["token"], "no temp files left behind");
  });

  test("an unwritable place is a typed error", async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, "afile"), "x");
    await assert.rejects(writePrivateFile(join(dir, "afile", "token"), "x"), { code: LoginErrorCode.Files });
  });
});

describe("JWT display helpers", () => {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

  test("decodes the payload without verifying", () => {
    const claims = decodeJwtPayload(`${enc({ alg: "RS256" })}.${enc({ callerid: "up=bob", exp: 1_700_000_000, purpose: "choria_client_id" })}.sig`);
    assert.deepEqual(summarizeToken(claims!), { callerId: "up=bob", expires: new Date(1_700_000_000_000), purpose: "choria_client_id" });
  });

  const notJwts = ["", "a.b", "a..c", `x.${Buffer.from("not json").toString("base64url")}.y`, `x.${enc([1, 2])}.y`];
  for (const token of notJwts) {
    test(`not a JWT: ${JSON.stringify(token)}`, () => assert.equal(decodeJwtPayload(token), null));
  }

  test("formatRemaining", () => {
    const from = new Date(0);
    assert.equal(formatRemaining(from, new Date(3599_000)), "59m 59s");
    assert.equal(formatRemaining(from, new Date(3600_000)), "1h 0m");
    assert.equal(formatRemaining(from, new Date((2 * 86400 + 3 * 3600) * 1000)), "2d 3h");
    assert.equal(formatRemaining(from, new Date(0)), "already expired");
  });
});
