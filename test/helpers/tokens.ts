/**
 * Token fixtures for tests: a fresh signer and user key pair per world, a
 * minting shortcut, AuthInput builders and the catalogue of bad tokens every
 * authenticator must refuse (each with the AuthError code it must produce).
 * Keys are generated at test time; nothing here is committed key material.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuthInput } from "../../src/auth/types.js";
import {
  createEd25519KeyPair,
  createSigner,
  mintClientToken,
  signJwtHmac,
  signNonce,
  unsignedJwt,
  clientClaims,
  type ClientTokenSpec,
  type DevSigner,
  type Ed25519KeyPair,
} from "../../src/auth/mint.js";

export * from "../../src/auth/mint.js";
export { newKsuid, ksuidTimestamp } from "../../src/auth/ksuid.js";

/** A nonce shaped like nats-server's (15 chars of base64 raw-URL). */
export const TEST_NONCE = "HfbRNTB51RgUvqg";

/** A temporary directory removed when the test (or suite) ends. */
export function tempDir(t: { after(fn: () => void): void }, prefix = "aaa-auth-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A self-signed certificate for `keyPath` (openssl), written to `certPath`. */
export function selfSignedCert(keyPath: string, certPath: string, cn = "aaa-signer"): string {
  execFileSync("openssl", ["req", "-x509", "-new", "-key", keyPath, "-subj", `/CN=${cn}`, "-days", "2", "-out", certPath], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  return certPath;
}

export interface TokenWorld {
  signer: DevSigner;
  /** The holder's key pair (public half goes into `public_key`). */
  user: Ed25519KeyPair;
  /** Mint a client token signed by `signer` for `user` (spec overrides). */
  mint(spec?: ClientTokenSpec, signer?: DevSigner): string;
  /** A CONNECT input carrying `token` in auth_token, signed for TEST_NONCE by `user`. */
  input(token: string, over?: Partial<AuthInput>): AuthInput;
}

export function tokenWorld(signer: DevSigner = createSigner("ed25519"), user: Ed25519KeyPair = createEd25519KeyPair()): TokenWorld {
  return {
    signer,
    user,
    mint: (spec = {}, s = signer) => mintClientToken(s, { callerid: "up=alice", publicKey: user.publicHex, ...spec }),
    input: (token, over = {}) => ({
      authToken: token,
      sig: signNonce(user.privateKey, TEST_NONCE),
      nonce: TEST_NONCE,
      secure: true,
      remote: "127.0.0.1:50000",
      ...over,
    }),
  };
}

export interface BadToken {
  name: string;
  code: string;
  input: AuthInput;
}

/** Every way a CONNECT must be refused, with the expected AuthError code. */
export function badTokenCatalogue(world: TokenWorld): BadToken[] {
  const now = Math.floor(Date.now() / 1000);
  const good = world.mint();
  const [h, p, s] = good.split(".") as [string, string, string];
  const tamperedPayload = Buffer.from(
    JSON.stringify({ ...JSON.parse(Buffer.from(p, "base64url").toString()), callerid: "up=mallory" }),
  ).toString("base64url");
  const baseClaims = clientClaims({ callerid: "up=alice", publicKey: world.user.publicHex });
  const publicPem = world.signer.publicKey.export({ format: "pem", type: "spki" }).toString();
  const stranger = createEd25519KeyPair();
  const standardB64Sig = Buffer.from(signNonce(world.user.privateKey, TEST_NONCE), "base64url").toString("base64");

  const cases: [string, string, AuthInput][] = [
    ["expired", "GW_ERR_AUTH_EXPIRED", world.input(world.mint({ iat: now - 7200, exp: now - 3600 }))],
    ["not yet valid", "GW_ERR_AUTH_NOT_YET_VALID", world.input(world.mint({ nbf: now + 3600, exp: now + 7200 }))],
    ["wrong signer", "GW_ERR_AUTH_BAD_SIGNATURE", world.input(world.mint({}, createSigner("ed25519")))],
    ["tampered payload", "GW_ERR_AUTH_BAD_SIGNATURE", world.input(`${h}.${tamperedPayload}.${s}`)],
    ["alg none", "GW_ERR_AUTH_ALG", world.input(unsignedJwt(baseClaims))],
    ["HS256 with the signer's public key PEM as secret", "GW_ERR_AUTH_ALG", world.input(signJwtHmac(baseClaims, publicPem))],
    ["purpose server", "GW_ERR_AUTH_PURPOSE", world.input(world.mint({ purpose: "choria_server" }))],
    ["purpose provisioning", "GW_ERR_AUTH_PURPOSE", world.input(world.mint({ purpose: "choria_provisioning" }))],
    ["no purpose", "GW_ERR_AUTH_PURPOSE", world.input(world.mint({ purpose: null }))],
    ["no callerid", "GW_ERR_AUTH_CLAIMS", world.input(world.mint({ omit: ["callerid"] }))],
    ["empty callerid", "GW_ERR_AUTH_CLAIMS", world.input(world.mint({ callerid: "" }))],
    ["no public_key", "GW_ERR_AUTH_CLAIMS", world.input(world.mint({ omit: ["public_key"] }))],
    ["no exp", "GW_ERR_AUTH_CLAIMS", world.input(world.mint({ omit: ["exp"] }))],
    ["signature of the wrong nonce", "GW_ERR_AUTH_NONCE", world.input(good, { sig: signNonce(world.user.privateKey, "otherNonce12345") })],
    ["signature by the wrong key", "GW_ERR_AUTH_NONCE", world.input(good, { sig: signNonce(stranger.privateKey, TEST_NONCE) })],
    ["standard base64 signature", "GW_ERR_AUTH_NONCE", world.input(good, { sig: standardB64Sig })],
    ["no signature", "GW_ERR_AUTH_NONCE", world.input(good, { sig: undefined })],
    ["oversized", "GW_ERR_AUTH_TOO_LARGE", world.input(world.mint({ extra: { padding: "x".repeat(20 * 1024) } }))],
    ["garbage", "GW_ERR_AUTH_MALFORMED", world.input("this is not a JWT")],
    ["garbage in three parts", "GW_ERR_AUTH_MALFORMED", world.input("e30.%%%%.abc")],
    ["no token", "GW_ERR_AUTH_NO_TOKEN", world.input("", { authToken: undefined })],
    ["plain-text transport", "GW_ERR_AUTH_INSECURE", world.input(good, { secure: false })],
  ];
  return cases.map(([name, code, input]) => ({ name, code, input }));
}
