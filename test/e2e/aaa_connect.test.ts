/**
 * Authentication through the running gateway on raw TLS sockets: a
 * valid AAA token with the connection's nonce signed gets in (and is audited
 * with caller id, remote address and expiry); every token in the bad-token
 * catalogue — expired, not yet valid, wrong signer, tampered, `alg: none`,
 * HS256 keyed with the signer's public key, server and provisioning purposes,
 * missing claims, another connection's nonce, the wrong key, oversized,
 * garbage — is refused with exactly `-ERR 'Authorization Violation'`, the
 * connection is closed, and the audit log names the refusal code and reason.
 * A token that expires while connected ends with 'User Authentication Expired'.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getPki, type Pki } from "../helpers/pki.js";
import { startGateway, type TestGateway } from "../helpers/gateway.js";
import { rawConnect, type RawClient } from "../helpers/raw.js";
import { waitFor } from "../helpers/hub.js";
import {
  clientClaims,
  createEd25519KeyPair,
  createSigner,
  signJwtHmac,
  signNonce,
  tokenWorld,
  unsignedJwt,
  writeSignerFiles,
  type DevSigner,
  type TokenWorld,
} from "../helpers/tokens.js";
import type { LogFields } from "../../src/obs/log.js";

const DENIED = "-ERR 'Authorization Violation'\r\n";

/** CONNECT the way a Choria client does over anonymous TLS (token + nonce signature). */
function connectLine(token: string | undefined, sig: string | undefined): string {
  const o: Record<string, unknown> = { verbose: false, pedantic: false, headers: true, protocol: 1, name: "aaa-connect-test" };
  if (token !== undefined) o.auth_token = token;
  if (sig !== undefined) o.sig = sig;
  return `CONNECT ${JSON.stringify(o)}\r\n`;
}

/** How a catalogue row signs: given this connection's nonce and another live connection's nonce. */
type Signing = (nonce: string, otherNonce: string) => string | undefined;

interface BadRow {
  name: string;
  token: () => string | undefined;
  sig?: Signing;
  code: string;
  reason: RegExp;
}

describe("AAA authentication on the client port", () => {
  let pki: Pki;
  let world: TokenWorld;
  /** A second, RSA, signer configured alongside the ed25519 one (RS256 tokens, and the HS256 confusion attack). */
  let rsaSigner: DevSigner;
  let g: TestGateway;
  let dir: string;
  const clients: RawClient[] = [];
  const open = async (): Promise<RawClient> => {
    const c = await rawConnect(g.gw.clientPort, pki.ca);
    clients.push(c);
    return c;
  };
  const audit = (kind: string, cid: unknown): LogFields[] => g.audit.records().filter((r) => r.audit === kind && r.cid === cid);
  /** The first audit record of `kind` for connection `cid`, once it is there. */
  const audited = (kind: string, cid: unknown): Promise<LogFields> => waitFor(`${kind} audit record of cid ${String(cid)}`, () => audit(kind, cid)[0]);
  const mySig: Signing = (nonce) => signNonce(world.user.privateKey, nonce);

  before(async () => {
    pki = await getPki();
    world = tokenWorld();
    dir = mkdtempSync(join(tmpdir(), "aaa-connect-e2e-"));
    rsaSigner = createSigner("rsa");
    const ed = writeSignerFiles(world.signer, dir, "signer");
    const rsa = writeSignerFiles(rsaSigner, dir, "rsa-signer");
    g = await startGateway(pki, [
      `plugin.choria.network.client_signer_cert = ${ed.publicKeyPath},${rsa.publicKeyPath}`,
      // Gateway.stop() leaves a timer of this length running; keep it short so the file ends promptly.
      "plugin.choria.network.aaa_leafnode.soft_shutdown_timeout = 1s",
    ]);
  });
  after(async () => {
    for (const c of clients) c.close();
    await g.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("an RS256 token from the configured RSA signer gets in too", async () => {
    const c = await open();
    c.send(connectLine(world.mint({ callerid: "up=rsa-user" }, rsaSigner), mySig(String(c.info.nonce), "")) + "PING\r\n");
    assert.equal(await c.expect(/\r\n/), "PONG\r\n");
    assert.equal((await audited("connect", c.info.client_id)).callerId, "up=rsa-user");
    c.close();
  });

  test("a valid token with the nonce signed gets in; connect and disconnect are audited", async () => {
    const c = await open();
    const nonce = String(c.info.nonce);
    assert.match(nonce, /^[A-Za-z0-9_-]{15}$/);
    assert.equal(c.info.auth_required, true);
    c.send(connectLine(world.mint({ permissions: { fleet_management: true } }), mySig(nonce, "")) + "PING\r\n");
    assert.equal(await c.expect(/PONG\r\n/), "PONG\r\n");

    const connected = await audited("connect", c.info.client_id);
    assert.equal(connected.callerId, "up=alice");
    assert.equal(connected.method, "aaa-jwt");
    assert.equal(connected.transport, "tls");
    assert.equal(connected.remote, c.info.client_ip);
    assert.ok(Date.parse(String(connected.expiresAt)) > Date.now(), "expiry is recorded");
    c.close();
    const gone = await audited("disconnect", c.info.client_id);
    assert.equal(gone.callerId, "up=alice");
    assert.equal(gone.reason, "client_closed");
    assert.equal(gone.remote, c.info.client_ip);
  });

  describe("the bad-token catalogue: -ERR 'Authorization Violation', closed, reason audited", () => {
    // Tokens are made when a row runs (the signer exists only after before()).
    const now = (): number => Math.floor(Date.now() / 1000);
    const base = (): Record<string, unknown> => clientClaims({ callerid: "up=alice", publicKey: world.user.publicHex });
    const tampered = (): string => {
      const [h, p, s] = world.mint().split(".") as [string, string, string];
      const claims = { ...JSON.parse(Buffer.from(p, "base64url").toString()), callerid: "up=mallory", permissions: { org_admin: true } };
      return `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${s}`;
    };
    const pem = (signer: DevSigner): string => signer.publicKey.export({ format: "pem", type: "spki" }).toString();
    const stranger = createEd25519KeyPair();
    const rows: BadRow[] = [
      { name: "expired", token: () => world.mint({ iat: now() - 7200, exp: now() - 3600 }), code: "GW_ERR_AUTH_EXPIRED", reason: /^token expired at / },
      { name: "not yet valid", token: () => world.mint({ nbf: now() + 3600, exp: now() + 7200 }), code: "GW_ERR_AUTH_NOT_YET_VALID", reason: /^token not valid before / },
      { name: "wrong signer", token: () => world.mint({}, createSigner("ed25519")), code: "GW_ERR_AUTH_BAD_SIGNATURE", reason: /signature does not verify/ },
      { name: "RS256 from an RSA signer nobody configured", token: () => world.mint({}, createSigner("rsa")), code: "GW_ERR_AUTH_BAD_SIGNATURE", reason: /does not verify with any of 1 rsa signer/ },
      { name: "tampered payload (callerid and org_admin changed)", token: tampered, code: "GW_ERR_AUTH_BAD_SIGNATURE", reason: /signature does not verify/ },
      { name: "alg none", token: () => unsignedJwt(base()), code: "GW_ERR_AUTH_ALG", reason: /alg "none" is not accepted/ },
      { name: "HS256 keyed with the RSA signer's public key PEM", token: () => signJwtHmac(base(), pem(rsaSigner)), code: "GW_ERR_AUTH_ALG", reason: /alg "HS256" is not accepted/ },
      { name: "HS256 keyed with the ed25519 signer's public key PEM", token: () => signJwtHmac(base(), pem(world.signer)), code: "GW_ERR_AUTH_ALG", reason: /alg "HS256" is not accepted/ },
      { name: "alg switched to RS256 on an ed25519-signed token", token: () => {
        const [, p, sig] = world.mint().split(".") as [string, string, string];
        return `${Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT" })).toString("base64url")}.${p}.${sig}`;
      }, code: "GW_ERR_AUTH_BAD_SIGNATURE", reason: /does not verify with any of 1 rsa signer/ },
      { name: "purpose server", token: () => world.mint({ purpose: "choria_server" }), code: "GW_ERR_AUTH_PURPOSE", reason: /server tokens are not accepted/ },
      { name: "purpose provisioning", token: () => world.mint({ purpose: "choria_provisioning" }), code: "GW_ERR_AUTH_PURPOSE", reason: /provisioning tokens are not accepted/ },
      { name: "no purpose", token: () => world.mint({ purpose: null }), code: "GW_ERR_AUTH_PURPOSE", reason: /token has no purpose/ },
      { name: "no callerid", token: () => world.mint({ omit: ["callerid"] }), code: "GW_ERR_AUTH_CLAIMS", reason: /^callerid: required claim missing/ },
      { name: "no public_key", token: () => world.mint({ omit: ["public_key"] }), code: "GW_ERR_AUTH_CLAIMS", reason: /^public_key: required claim missing/ },
      { name: "no exp", token: () => world.mint({ omit: ["exp"] }), code: "GW_ERR_AUTH_CLAIMS", reason: /^exp: required claim missing/ },
      { name: "signature of another connection's nonce", token: () => world.mint(), sig: (_n, other) => signNonce(world.user.privateKey, other), code: "GW_ERR_AUTH_NONCE", reason: /did not verify with the token's public_key/ },
      { name: "signature by the wrong key", token: () => world.mint(), sig: (n) => signNonce(stranger.privateKey, n), code: "GW_ERR_AUTH_NONCE", reason: /did not verify with the token's public_key/ },
      { name: "standard base64 signature (Choria takes raw-URL only)", token: () => world.mint(), sig: (n) => Buffer.from(signNonce(world.user.privateKey, n), "base64url").toString("base64"), code: "GW_ERR_AUTH_NONCE", reason: /not base64 raw-URL/ },
      { name: "no signature", token: () => world.mint(), sig: () => undefined, code: "GW_ERR_AUTH_NONCE", reason: /nonce was not signed/ },
      { name: "oversized (20 KiB of padding)", token: () => world.mint({ extra: { padding: "x".repeat(20 * 1024) } }), code: "GW_ERR_AUTH_TOO_LARGE", reason: /token too large/ },
      { name: "garbage", token: () => "this is not a JWT", code: "GW_ERR_AUTH_MALFORMED", reason: /not a compact JWS/ },
      { name: "garbage in three parts", token: () => "e30.%%%%.abc", code: "GW_ERR_AUTH_MALFORMED", reason: /JWT header has no alg/ },
      { name: "no token at all", token: () => undefined, code: "GW_ERR_AUTH_NO_TOKEN", reason: /no JWT in CONNECT/ },
    ];

    for (const row of rows) {
      test(row.name, async () => {
        // Two live connections: the one presenting the row, and a bystander whose nonce a replay would use.
        const bystander = await open();
        const c = await open();
        assert.notEqual(c.info.nonce, bystander.info.nonce);
        const sig = (row.sig ?? mySig)(String(c.info.nonce), String(bystander.info.nonce));
        c.send(connectLine(row.token(), sig) + "PING\r\nSUB foo 1\r\n");
        assert.equal(await c.expect(/\r\n/), DENIED);
        await c.closed;
        assert.equal(c.buffer, "", "nothing after the refusal (no PONG, no +OK)");

        const refused = await audited("refused", c.info.client_id);
        assert.equal(refused.code, row.code);
        assert.match(String(refused.reason), row.reason);
        assert.equal(refused.remote, c.info.client_ip);
        assert.equal(refused.callerId, null, "nobody is identified by a refused token");
        assert.equal(audit("connect", c.info.client_id).length, 0, "a refused connection is never audited as connected");

        // The bystander's own nonce, signed by the right key, still gets in: the refusal was about the row.
        bystander.send(connectLine(world.mint(), mySig(String(bystander.info.nonce), "")) + "PING\r\n");
        assert.equal(await bystander.expect(/\r\n/), "PONG\r\n");
        bystander.close();
      });
    }
  });

  test("a CONNECT captured from one connection and replayed on another is refused", async () => {
    const victim = await open();
    const captured = connectLine(world.mint(), mySig(String(victim.info.nonce), ""));
    victim.send(captured + "PING\r\n");
    await victim.expect(/PONG\r\n/);
    const replay = await open();
    replay.send(captured + "PING\r\n");
    assert.equal(await replay.expect(/\r\n/), DENIED);
    await replay.closed;
    const refused = await audited("refused", replay.info.client_id);
    assert.equal(refused.code, "GW_ERR_AUTH_NONCE");
    // The original connection is unaffected.
    victim.send("PING\r\n");
    assert.equal(await victim.expect(/\r\n/), "PONG\r\n");
  });

  test("a token that expires while connected: -ERR 'User Authentication Expired' at expiry, then closed", async () => {
    const c = await open();
    const exp = Math.floor(Date.now() / 1000) + 2;
    c.send(connectLine(world.mint({ exp }), mySig(String(c.info.nonce), "")) + "PING\r\n");
    await c.expect(/PONG\r\n/);
    // Alive until the expiry (PING answered), closed with the exact text after it.
    c.send("PING\r\n");
    await c.expect(/^PONG\r\n$/);
    await c.expect(/-ERR 'User Authentication Expired'\r\n/, 10_000);
    const closedAt = Date.now();
    await c.closed;
    assert.ok(closedAt >= exp * 1000 - 50, `closed ${exp * 1000 - closedAt} ms before the token's exp`);
    assert.ok(closedAt < exp * 1000 + 5000, "closed promptly after the expiry");
    const gone = await audited("disconnect", c.info.client_id);
    assert.equal(gone.reason, "auth_expired");
    assert.equal(gone.callerId, "up=alice");
  });
});
