// The JWS signature check alone: what a signer key may verify, and the
// header extensions and key sizes that must be refused (RFC 7515 section 4.1.11,
// RFC 7518 section 3.3). Tokens minted with node:crypto and cross-checked in other
// tests against jose-minted tokens from the test AAA service.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AaaAuthenticator } from "../../../src/auth/authenticators.js";
import { defaultPoliciesDir, loadPolicies } from "../../../src/auth/policies.js";
import { clientClaims, createSigner, signJwt, tokenWorld, type DevSigner } from "../../helpers/tokens.js";
import { AuthError } from "../../../src/errors.js";
import { sign } from "node:crypto";

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

const policies = loadPolicies(defaultPoliciesDir());

function authFor(signer: DevSigner): AaaAuthenticator {
  return new AaaAuthenticator({ signers: [{ source: "test", type: signer.alg === "EdDSA" ? "ed25519" : "rsa", key: signer.publicKey }], policies, collective: "choria" });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AuthError);
    return err.code;
  }
  return "accepted";
}

test("RS256/384/512 and EdDSA verify with the matching key; a swapped alg does not", async () => {
  for (const alg of ["RS256", "RS384", "RS512"] as const) {
    const signer = createSigner("rsa", { alg });
    const world = tokenWorld(signer);
    assert.equal(await codeOf(authFor(signer).authenticate(world.input(world.mint()))), "accepted", alg);
    // The header names one digest, the signature was made with another.
    const other = alg === "RS256" ? "sha384" : "sha256";
    const input = `${b64({ alg, typ: "JWT" })}.${b64(clientClaims({ callerid: "up=x", publicKey: world.user.publicHex }))}`;
    const swapped = `${input}.${sign(other, Buffer.from(input), signer.privateKey).toString("base64url")}`;
    assert.equal(await codeOf(authFor(signer).authenticate(world.input(swapped))), "GW_ERR_AUTH_BAD_SIGNATURE", `${alg} with ${other}`);
  }
  const ed = createSigner("ed25519");
  const w = tokenWorld(ed);
  assert.equal(await codeOf(authFor(ed).authenticate(w.input(w.mint()))), "accepted");
});

test("an EdDSA header on a token for an RSA signer is refused (key type must match the alg)", async () => {
  const rsa = createSigner("rsa");
  const ed = createSigner("ed25519");
  const world = tokenWorld(ed);
  const token = world.mint();
  assert.equal(await codeOf(authFor(rsa).authenticate(world.input(token))), "GW_ERR_AUTH_BAD_SIGNATURE");
});

test("a crit header is refused even when the signature verifies", async () => {
  const signer = createSigner("ed25519");
  const world = tokenWorld(signer);
  const token = signJwt({ alg: "EdDSA", typ: "JWT", crit: ["exp"], exp: 1 }, clientClaims({ callerid: "up=x", publicKey: world.user.publicHex }), signer.privateKey);
  assert.equal(await codeOf(authFor(signer).authenticate(world.input(token))), "GW_ERR_AUTH_MALFORMED");
});

test("RSA keys under 2048 bits never verify", async () => {
  const weak = createSigner("rsa", { rsaBits: 1024 });
  const world = tokenWorld(weak);
  assert.equal(await codeOf(authFor(weak).authenticate(world.input(world.mint()))), "GW_ERR_AUTH_BAD_SIGNATURE");
});
