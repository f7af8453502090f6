/**
 * Org-issuer chains (docs/protocol.md#issuer-chain): good I- and C- tokens in issuer mode
 * and rooted at an ed25519 signer, every break of the chain refused with its
 * code, issuer selection by `ou`, and the KSUID codec the chain depends on.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { AuthError } from "../../../src/errors.js";
import { AaaAuthenticator } from "../../../src/auth/authenticators.js";
import { defaultPoliciesDir, loadPolicies } from "../../../src/auth/policies.js";
import {
  createEd25519KeyPair,
  createSigner,
  ksuidTimestamp,
  mintChainIssuer,
  mintChainedUserToken,
  mintClientToken,
  newKsuid,
  signerFromPrivateKey,
  tokenWorld,
  type ClientTokenSpec,
} from "../../helpers/tokens.js";

const policies = loadPolicies(defaultPoliciesDir());
const org = createEd25519KeyPair();
const otherOrg = createEd25519KeyPair();
const acme = createEd25519KeyPair();
const issuerAuth = new AaaAuthenticator({ issuers: { choria: org.publicHex, acme: acme.publicHex }, policies, collective: "choria" });
const ci = mintChainIssuer(org, { callerid: "aaasvc-login" });
const world = tokenWorld();

function userToken(spec: ClientTokenSpec = {}, opts: Parameters<typeof mintChainedUserToken>[2] = {}): string {
  return mintChainedUserToken(ci, { callerid: "up=bob", publicKey: world.user.publicHex, ...spec }, opts);
}

async function code(auth: AaaAuthenticator, token: string): Promise<string> {
  try {
    await auth.authenticate(world.input(token));
  } catch (err) {
    assert.ok(err instanceof AuthError);
    return err.code;
  }
  return "accepted";
}

describe("chain tokens that verify", () => {
  test("a C- user token in issuer mode; expiry is min(exp, issexp)", async () => {
    const id = await issuerAuth.authenticate(world.input(userToken({ validitySeconds: 10 * 3600 })));
    assert.equal(id.callerId, "up=bob");
    assert.equal(id.expiresAt, Number(ci.claims["exp"]) * 1000);
    assert.ok(id.claims?.iss?.startsWith("C-"));
  });

  test("the chain issuer's own I- token used as a client", async () => {
    const self = tokenWorld(undefined, ci.keys);
    const id = await issuerAuth.authenticate(self.input(ci.token));
    assert.equal(id.callerId, "aaasvc-login");
  });

  test("a C- token rooted at an ed25519 client signer (signer mode)", async () => {
    const auth = new AaaAuthenticator({ signers: [createSigner("ed25519").publicHex!, org.publicHex], policies, collective: "choria" });
    assert.equal(await code(auth, userToken()), "accepted");
  });

  test("ou selects the org issuer", async () => {
    const acmeCi = mintChainIssuer(acme, { ou: "acme" });
    const token = mintChainedUserToken(acmeCi, { callerid: "up=carol", ou: "acme", publicKey: world.user.publicHex });
    assert.equal(await code(issuerAuth, token), "accepted");
    // same chain, but claiming the choria org: verified against the wrong issuer
    const claimingChoria = mintChainedUserToken(acmeCi, { callerid: "up=carol", ou: "choria", publicKey: world.user.publicHex });
    assert.equal(await code(issuerAuth, claimingChoria), "GW_ERR_AUTH_CHAIN");
  });
});

describe("chain breaks", () => {
  const now = Math.floor(Date.now() / 1000);
  const strangerCi = mintChainIssuer(otherOrg);
  const cases: [string, string, () => string][] = [
    ["unknown ou", "GW_ERR_AUTH_CHAIN", () => userToken({ ou: "nobody" })],
    ["chain issuer not signed by the org issuer", "GW_ERR_AUTH_CHAIN", () =>
      mintChainedUserToken(strangerCi, { callerid: "up=bob", publicKey: world.user.publicHex })],
    ["user chain signature by another key", "GW_ERR_AUTH_CHAIN", () =>
      userToken({ extra: { tcs: `${String(ci.claims["tcs"])}.${"ab".repeat(64)}` } })],
    ["chain issuer tcs altered", "GW_ERR_AUTH_CHAIN", () => {
      const t = String(ci.claims["tcs"]);
      return userToken({ extra: { tcs: `${t.slice(0, -2)}00.${"ab".repeat(64)}` } });
    }],
    ["jti not a KSUID", "GW_ERR_AUTH_CHAIN", () => userToken({ jti: "not-a-ksuid" })],
    ["jti time differs from iat", "GW_ERR_AUTH_CHAIN", () => userToken({ iat: now, jti: newKsuid(now - 10) })],
    ["issexp missing", "GW_ERR_AUTH_CHAIN", () => userToken({ omit: ["issexp"] })],
    ["tcs missing", "GW_ERR_AUTH_CHAIN", () => userToken({ omit: ["tcs"] })],
    ["tcs with three parts", "GW_ERR_AUTH_CHAIN", () => userToken({ extra: { tcs: "aa.bb.cc" } })],
    ["iss without a public key part", "GW_ERR_AUTH_CHAIN", () => userToken({ extra: { iss: `C-${String(ci.claims["jti"])}` } })],
    ["iss naming another chain issuer key", "GW_ERR_AUTH_CHAIN", () =>
      userToken({ extra: { iss: `C-${String(ci.claims["jti"])}.${createEd25519KeyPair().publicHex}` } })],
    ["JWT signed by another key than the chain issuer", "GW_ERR_AUTH_BAD_SIGNATURE", () =>
      userToken({}, { signWith: createEd25519KeyPair().privateKey })],
    ["chain issuer expired", "GW_ERR_AUTH_EXPIRED", () => userToken({ extra: { issexp: now - 3600, exp: now + 3600 } })],
    ["RS256 token in issuer mode", "GW_ERR_AUTH_ALG", () => mintClientToken(createSigner("rsa"), { publicKey: world.user.publicHex })],
    ["I- token signed by another org", "GW_ERR_AUTH_BAD_SIGNATURE", () =>
      mintClientToken(signerFromPrivateKey(otherOrg.privateKey), { publicKey: world.user.publicHex, iss: `I-${otherOrg.publicHex}` })],
  ];
  for (const [name, expected, make] of cases) {
    test(name, async () => {
      assert.equal(await code(issuerAuth, make()), expected);
    });
  }
});

test("issuers and signers together are a configuration error", () => {
  assert.throws(
    () => new AaaAuthenticator({ issuers: { choria: org.publicHex }, signers: [org.publicHex], policies, collective: "choria" }),
    (err: Error & { code?: string }) => err.code === "GW_ERR_CONFIG" && /mutually exclusive/.test(err.message),
  );
});

describe("KSUID", () => {
  test("a known KSUID decodes to its time", () => {
    // segmentio/ksuid README example, generated 2017-10-09T21:00:47-07:00
    assert.equal(ksuidTimestamp("0ujtsYcgvSTl8PAuAdqWYSMnLOv"), 1507608047);
  });

  test("round trip keeps the timestamp and the length", () => {
    for (const t of [1_400_000_000, 1_700_000_123, 1_400_000_000 + 0xffffffff]) {
      const id = newKsuid(t, new Uint8Array(16).fill(0xff));
      assert.equal(id.length, 27);
      assert.equal(ksuidTimestamp(id), t);
    }
  });

  test("invalid KSUIDs are rejected", () => {
    assert.throws(() => ksuidTimestamp("short"));
    assert.throws(() => ksuidTimestamp("0ujtsYcgvSTl8PAuAdqWYSMnLO!"));
    assert.throws(() => ksuidTimestamp("zzzzzzzzzzzzzzzzzzzzzzzzzzz"));
    assert.throws(() => newKsuid(1_000));
  });
});
