/**
 * AaaAuthenticator end to end over plain AuthInput objects: the whole bad-token
 * catalogue (each refusal's code), good tokens for every accepted algorithm and
 * every signer format, the jwt fallback, identity fields, and the verified-token
 * cache never outliving the token.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { AuthError } from "../../../src/errors.js";
import { AaaAuthenticator, DenyAllAuthenticator, DevelopmentAuthenticator } from "../../../src/auth/authenticators.js";
import { defaultPoliciesDir, loadPolicies } from "../../../src/auth/policies.js";
import { md5Hex } from "../../../src/auth/reply_namespace.js";
import { Delivery } from "../../../src/auth/caller_policy.js";
import { buildAuthenticator } from "../../../src/auth/build.js";
import type { GatewayConfig } from "../../../src/config/types.js";
import { nullLogger } from "../../../src/obs/log.js";
import {
  TEST_NONCE,
  badTokenCatalogue,
  createSigner,
  selfSignedCert,
  tempDir,
  tokenWorld,
  writeSignerFiles,
  type DevSigner,
} from "../../helpers/tokens.js";

const policies = loadPolicies(defaultPoliciesDir());

function authWith(signers: (string | DevSigner)[], extra: Partial<ConstructorParameters<typeof AaaAuthenticator>[0]> = {}): AaaAuthenticator {
  const entries = signers.map((s) => (typeof s === "string" ? s : s.publicHex!));
  return new AaaAuthenticator({ signers: entries, policies, collective: "choria", ...extra });
}

async function refusal(p: Promise<unknown>): Promise<AuthError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AuthError, `expected AuthError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a refusal");
}

describe("AaaAuthenticator refuses the bad-token catalogue", () => {
  const world = tokenWorld();
  const auth = authWith([world.signer]);
  for (const bad of badTokenCatalogue(world)) {
    test(bad.name, async () => {
      const err = await refusal(auth.authenticate(bad.input));
      assert.equal(err.code, bad.code, err.reason);
      assert.ok(err.reason.length > 0);
    });
  }

  test("the catalogue's good token is accepted (the refusals are not vacuous)", async () => {
    const id = await auth.authenticate(world.input(world.mint()));
    assert.equal(id.callerId, "up=alice");
  });

  test("purpose refusals say what the token is", async () => {
    const server = await refusal(auth.authenticate(world.input(world.mint({ purpose: "choria_server" }))));
    assert.match(server.reason, /server tokens are not accepted/);
    const prov = await refusal(auth.authenticate(world.input(world.mint({ purpose: "choria_provisioning" }))));
    assert.match(prov.reason, /provisioning tokens are not accepted/);
  });

  test("HS256 is refused even with an RSA signer whose PEM is the HMAC secret", async (t) => {
    const rsa = tokenWorld(createSigner("rsa"));
    const dir = tempDir(t);
    const { publicKeyPath } = writeSignerFiles(rsa.signer, dir, "rsa");
    const rsaAuth = authWith([publicKeyPath]);
    for (const bad of badTokenCatalogue(rsa).filter((b) => b.name.startsWith("HS256") || b.name === "alg none")) {
      const err = await refusal(rsaAuth.authenticate(bad.input));
      assert.equal(err.code, "GW_ERR_AUTH_ALG");
    }
  });
});

describe("AaaAuthenticator accepts good tokens", () => {
  for (const alg of ["RS256", "RS384", "RS512"] as const) {
    test(`${alg} with an RSA public key PEM signer`, async (t) => {
      const world = tokenWorld(createSigner("rsa", { alg }));
      const dir = tempDir(t);
      const { publicKeyPath } = writeSignerFiles(world.signer, dir, "signer");
      const id = await authWith([publicKeyPath]).authenticate(world.input(world.mint()));
      assert.equal(id.callerId, "up=alice");
      assert.equal(id.claims?.public_key, world.user.publicHex);
    });
  }

  test("EdDSA with an inline hex signer; identity fields", async () => {
    const world = tokenWorld();
    const exp = Math.floor(Date.now() / 1000) + 600;
    const id = await authWith([world.signer]).authenticate(world.input(world.mint({ exp, permissions: { fleet_management: true } })));
    assert.equal(id.method, "aaa-jwt");
    assert.equal(id.expiresAt, exp * 1000);
    assert.equal(id.publicKey, world.user.publicHex);
    assert.equal(id.policy.replyPrefix, `choria.reply.${md5Hex("up=alice")}`);
    assert.equal(id.policy.mayPublish("choria.broadcast.agent.rpcutil"), true);
    assert.equal(id.policy.routeSubscribe("choria.lifecycle.>"), null);
  });

  test("RSA signer from a PEM certificate", async (t) => {
    const world = tokenWorld(createSigner("rsa"));
    const dir = tempDir(t);
    const { privateKeyPath } = writeSignerFiles(world.signer, dir, "signer");
    const cert = selfSignedCert(privateKeyPath, join(dir, "signer.pem"));
    const id = await authWith([cert]).authenticate(world.input(world.mint()));
    assert.equal(id.callerId, "up=alice");
  });

  test("ed25519 signer from a PEM certificate and from a PEM public key", async (t) => {
    const world = tokenWorld();
    const dir = tempDir(t);
    const keyPem = join(dir, "ed-key.pem");
    writeFileSync(keyPem, world.signer.privateKey.export({ format: "pem", type: "pkcs8" }));
    const cert = selfSignedCert(keyPem, join(dir, "ed.pem"));
    const pub = join(dir, "ed-public.pem");
    writeFileSync(pub, world.signer.publicKey.export({ format: "pem", type: "spki" }));
    for (const entry of [cert, pub]) {
      const id = await authWith([entry]).authenticate(world.input(world.mint()));
      assert.equal(id.callerId, "up=alice", entry);
    }
  });

  test("ed25519 signer from a hex file with a trailing newline", async (t) => {
    const world = tokenWorld();
    const dir = tempDir(t);
    const { publicKeyPath } = writeSignerFiles(world.signer, dir, "signer");
    const id = await authWith([publicKeyPath]).authenticate(world.input(world.mint()));
    assert.equal(id.callerId, "up=alice");
  });

  test("signers are tried in order: the last one verifies", async (t) => {
    const world = tokenWorld();
    const other = createSigner("ed25519");
    const rsa = createSigner("rsa");
    const dir = tempDir(t);
    const { publicKeyPath } = writeSignerFiles(rsa, dir, "rsa");
    const id = await authWith([other, publicKeyPath, world.signer]).authenticate(world.input(world.mint()));
    assert.equal(id.callerId, "up=alice");
  });

  test("the JWT is taken from jwt when auth_token is absent", async () => {
    const world = tokenWorld();
    const token = world.mint();
    const id = await authWith([world.signer]).authenticate(world.input("", { authToken: undefined, jwt: token }));
    assert.equal(id.callerId, "up=alice");
  });

  test("auth_token wins over jwt", async () => {
    const world = tokenWorld();
    const err = await refusal(authWith([world.signer]).authenticate(world.input("garbage", { jwt: world.mint() })));
    assert.equal(err.code, "GW_ERR_AUTH_MALFORMED");
  });

  test("an RS256 token is refused when only ed25519 signers are configured", async () => {
    const world = tokenWorld(createSigner("rsa"));
    const err = await refusal(authWith([createSigner("ed25519")]).authenticate(world.input(world.mint())));
    assert.equal(err.code, "GW_ERR_AUTH_BAD_SIGNATURE");
  });
});

describe("clock skew and size limit", () => {
  test("exp within the skew is accepted, beyond it refused", async () => {
    const world = tokenWorld();
    const now = Math.floor(Date.now() / 1000);
    const token = world.mint({ iat: now - 100, exp: now - 2 });
    const id = await authWith([world.signer], { clockSkew: 5000 }).authenticate(world.input(token));
    assert.equal(id.callerId, "up=alice");
    const err = await refusal(authWith([world.signer], { clockSkew: 0 }).authenticate(world.input(token)));
    assert.equal(err.code, "GW_ERR_AUTH_EXPIRED");
  });

  test("nbf slightly in the future is within the skew", async () => {
    const world = tokenWorld();
    const now = Math.floor(Date.now() / 1000);
    const id = await authWith([world.signer]).authenticate(world.input(world.mint({ nbf: now + 2 })));
    assert.equal(id.callerId, "up=alice");
  });

  test("maxTokenSize is configurable", async () => {
    const world = tokenWorld();
    const token = world.mint();
    const err = await refusal(authWith([world.signer], { maxTokenSize: token.length - 1 }).authenticate(world.input(token)));
    assert.equal(err.code, "GW_ERR_AUTH_TOO_LARGE");
    assert.match(err.reason, /token too large/);
  });
});

describe("verified-token cache", () => {
  test("a cached token is never accepted past its expiry, and the nonce is checked every time", async () => {
    const world = tokenWorld();
    const start = Date.now();
    let clock = start;
    const exp = Math.floor(start / 1000) + 60;
    const auth = authWith([world.signer], { clockSkew: 0, now: () => clock });
    const token = world.mint({ exp });
    await auth.authenticate(world.input(token));
    assert.equal(auth.tokens.cachedTokens, 1);
    // cache hit, but a bad nonce signature is still refused
    const goodSig = Buffer.from(world.input(token, {}).sig!, "base64url");
    goodSig[0] = goodSig[0]! ^ 0xff; // a real change to the signature bytes (editing base64 tail bits may not be one)
    const nonceErr = await refusal(auth.authenticate(world.input(token, { sig: goodSig.toString("base64url") })));
    assert.equal(nonceErr.code, "GW_ERR_AUTH_NONCE");
    clock = exp * 1000 - 1;
    assert.equal((await auth.authenticate(world.input(token))).callerId, "up=alice");
    clock = exp * 1000;
    const err = await refusal(auth.authenticate(world.input(token)));
    assert.equal(err.code, "GW_ERR_AUTH_EXPIRED");
    assert.equal(auth.tokens.cachedTokens, 0);
  });

  test("the cache is bounded", async () => {
    const world = tokenWorld();
    const auth = authWith([world.signer], { tokenCacheSize: 3 });
    for (let i = 0; i < 6; i++) await auth.authenticate(world.input(world.mint({ callerid: `up=u${i}` })));
    assert.equal(auth.tokens.cachedTokens, 3);
  });
});

describe("configuration and the other authenticators", () => {
  test("no signers and no issuers is a configuration error", () => {
    assert.throws(() => new AaaAuthenticator({ policies, collective: "choria" }), { code: "GW_ERR_CONFIG" });
  });

  test("buildAuthenticator follows config.authenticator", async () => {
    const world = tokenWorld();
    const base = {
      authenticator: "aaa",
      clientSigners: [world.signer.publicHex!],
      issuers: {},
      policiesDir: defaultPoliciesDir(),
      mainCollective: "choria",
      clockSkew: 5000,
      limits: { maxTokenSize: 16384 },
    } as unknown as GatewayConfig;
    const aaa = await buildAuthenticator(base, nullLogger);
    assert.ok(aaa instanceof AaaAuthenticator);
    assert.equal((await aaa.authenticate(world.input(world.mint()))).method, "aaa-jwt");
    const dev = await buildAuthenticator({ ...base, authenticator: "development" }, nullLogger);
    assert.ok(dev instanceof DevelopmentAuthenticator);
    await assert.rejects(buildAuthenticator({ ...base, clientSigners: [] }, nullLogger), { code: "GW_ERR_CONFIG" });
  });

  test("DenyAllAuthenticator refuses everyone", async () => {
    const world = tokenWorld();
    const err = await refusal(new DenyAllAuthenticator().authenticate(world.input(world.mint())));
    assert.equal(err.code, "GW_ERR_AUTH_NOT_CONFIGURED");
  });

  test("DevelopmentAuthenticator admits anyone with > minus the hard restrictions", async () => {
    const dev = new DevelopmentAuthenticator({ collective: "choria" });
    const named = await dev.authenticate({ nonce: TEST_NONCE, secure: false, remote: "10.0.0.1:1", user: "bob" });
    assert.equal(named.callerId, "bob");
    assert.equal(named.method, "development");
    assert.equal(named.expiresAt, Infinity);
    const anon = await dev.authenticate({ nonce: TEST_NONCE, secure: false, remote: "10.0.0.1:1" });
    assert.equal(anon.callerId, "dev-10.0.0.1:1");
    const p = named.policy;
    assert.equal(p.mayPublish("anything.at.all"), true);
    assert.equal(p.routeSubscribe("foo.bar.>"), "foo.bar.>");
    // `foo.>` cannot match the main collective's reply namespaces; other collectives' replies are filtered at delivery
    assert.equal(p.routeSubscribe("foo.>"), "foo.>");
    assert.equal(p.deliver("foo.reply.0123456789abcdef0123456789abcdef.1", false), Delivery.Refused);
    assert.equal(p.routeSubscribe("choria.*.x.>"), null);
    assert.equal(p.routeSubscribe(">"), null);
    assert.equal(p.routeSubscribe("choria.lifecycle.event.>"), null);
    assert.equal(p.routeSubscribe("_INBOX.>"), `${p.replyPrefix}._INBOX.>`);
    assert.notEqual(p.replyPrefix, anon.policy.replyPrefix);
    // one caller's mapped inbox is another caller's foreign namespace
    assert.equal(p.routeSubscribe(`${anon.policy.replyPrefix}._INBOX.>`), null);
  });
});
