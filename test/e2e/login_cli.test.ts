/**
 * End-to-end tests of `aaa-leafnode login` against the test AAA service
 * (test/helpers/aaa_service.ts) on 127.0.0.1: a real login produces a token
 * the service's signer verifies and files with the right modes, the seed is
 * reused, refusals and every kind of failure (unreachable, failover, TLS,
 * malformed, timeout, reset after sending) give exit code 1 and a clear,
 * secret-free message.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { createServer, type AddressInfo } from "node:net";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jwtVerify } from "jose";
import { performLogin, runLoginCommand, type LoginIo } from "../../src/login/command.js";
import { LoginError, LoginErrorCode } from "../../src/login/errors.js";
import { identityFromSeed } from "../../src/login/keys.js";
import { makeTestTls, startTestAaaService, type TestAaaService } from "../helpers/aaa_service.js";

const PASSWORD = "s3cret-Pa55";

interface Captured {
  io: LoginIo;
  out: () => string;
  err: () => string;
}

function captureIo(home: string, stdinText?: string): Captured {
  let out = "";
  let err = "";
  const stdin = new PassThrough();
  if (stdinText !== undefined) stdin.end(stdinText);
  return {
    io: { stdin, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: { HOME: home, USER: "nobody" } },
    out: () => out,
    err: () => err,
  };
}

async function unusedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe("aaa-leafnode login", () => {
  let svc: TestAaaService;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "login-e2e-"));
    svc = await startTestAaaService({ users: { bob: { password: PASSWORD, permissions: { fleet_management: true } } } });
    writeFileSync(join(work, "pw"), PASSWORD + "\n");
    writeFileSync(join(work, "wrong-pw"), "not-it\n");
  });
  after(async () => {
    await svc.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** A fresh HOME with a ~/.choriarc pointing at `urls`. */
  function home(name: string, urls: string[]): string {
    const dir = join(work, name);
    rmSync(dir, { recursive: true, force: true });
    const cfg = `# test client config\nplugin.login.aaasvc.login.url = ${urls.join(",")}\nplugin.choria.security.request_signer.token_file = ~/.choria/token\n`;
    writeFileSync(join(work, `${name}.conf`), cfg);
    return dir;
  }

  test("logs in with --user/--password-file; token verifies, files 0600 in a 0700 dir", async () => {
    const h = home("ok", [svc.loginUrl]);
    const c = captureIo(h);
    const code = await runLoginCommand(["--config", join(work, "ok.conf"), "--user", "bob", "--password-file", join(work, "pw")], c.io);
    assert.equal(code, 0, c.err());
    const tokenFile = join(h, ".choria", "token");
    const seedFile = join(h, ".choria", "token.key");
    const token = readFileSync(tokenFile, "utf8");
    const seedHex = readFileSync(seedFile, "utf8");
    assert.match(seedHex, /^[0-9a-f]{64}$/);
    const { payload, protectedHeader } = await jwtVerify(token, svc.signerPublicKey);
    assert.equal(protectedHeader.alg, "RS256");
    assert.equal(payload.purpose, "choria_client_id");
    assert.equal(payload.callerid, "up=bob");
    assert.equal(payload.public_key, identityFromSeed(Buffer.from(seedHex, "hex")).publicKeyHex);
    assert.deepEqual(payload.permissions, { fleet_management: true });
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    assert.equal(statSync(seedFile).mode & 0o777, 0o600);
    assert.equal(statSync(join(h, ".choria")).mode & 0o777, 0o700);
    assert.match(c.out(), /^Caller ID: up=bob$/m);
    assert.match(c.out(), /^Expires: \d{4}-\d\d-\d\dT.*\(in (59m \d+s|1h 0m)\)$/m);
    assert.match(c.out(), new RegExp(`Token saved to ${tokenFile}`));
    for (const secret of [PASSWORD, token, seedHex]) {
      assert.ok(!c.out().includes(secret) && !c.err().includes(secret), "nothing secret printed");
    }
  });

  test("the seed is reused on a second login (same public key in both tokens)", async () => {
    const h = home("reuse", [svc.loginUrl]);
    const first = await performLogin(["--config", join(work, "reuse.conf"), "--user", "bob", "--password-file", join(work, "pw")], captureIo(h).io);
    const seedBefore = readFileSync(first.seedFile, "utf8");
    const c = captureIo(h);
    const second = await performLogin(["--config", join(work, "reuse.conf"), "--user", "bob", "--password-file", join(work, "pw")], c.io);
    assert.equal(first.seedReused, false);
    assert.equal(second.seedReused, true);
    assert.equal(readFileSync(second.seedFile, "utf8"), seedBefore);
    assert.equal(second.publicKeyHex, first.publicKeyHex);
    assert.equal((await jwtVerify(second.token, svc.signerPublicKey)).payload.public_key, first.publicKeyHex);
    assert.match(c.out(), /Seed reused from/);
  });

  test("--password-file - reads standard input; ~/.choriarc is the default config", async () => {
    const h = home("stdin", [svc.loginUrl]);
    // The config where the default lookup finds it.
    mkdirSync(h, { recursive: true });
    writeFileSync(join(h, ".choriarc"), readFileSync(join(work, "stdin.conf")));
    const result = await performLogin(["--user", "bob", "--password-file", "-"], captureIo(h, PASSWORD + "\n").io);
    assert.equal(result.callerId, "up=bob");
    assert.equal(result.tokenFile, join(h, ".choria", "token"));
  });

  test("wrong password: the service's message, exit 1, no files written", async () => {
    const h = home("wrong", [svc.loginUrl]);
    const refusalsBefore = svc.refusals.length;
    const c = captureIo(h);
    const code = await runLoginCommand(["--config", join(work, "wrong.conf"), "--user", "bob", "--password-file", join(work, "wrong-pw")], c.io);
    assert.equal(code, 1);
    assert.match(c.err(), /^aaa-leafnode login: login refused by http:\/\/127\.0\.0\.1:\d+\/choria\/v1\/login: Login failed\n$/);
    assert.deepEqual(svc.refusals.slice(refusalsBefore), ["incorrect password"]);
    assert.equal(existsSync(join(h, ".choria", "token")), false);
    assert.equal(existsSync(join(h, ".choria", "token.key")), false);
    assert.ok(!c.err().includes("not-it"));
  });

  test("an unreachable URL is skipped for the next one", async () => {
    const dead = `http://127.0.0.1:${await unusedPort()}/choria/v1/login`;
    const h = home("failover", [dead, svc.loginUrl]);
    const c = captureIo(h);
    const result = await performLogin(["--config", join(work, "failover.conf"), "--user", "bob", "--password-file", join(work, "pw")], c.io);
    assert.equal(result.url, svc.loginUrl);
    assert.match(c.out(), new RegExp(`Logged in via ${svc.loginUrl}`));
  });

  test("all URLs unreachable: names each URL and its error code", async () => {
    const dead1 = `http://127.0.0.1:${await unusedPort()}/choria/v1/login`;
    const dead2 = `http://127.0.0.1:${await unusedPort()}/choria/v1/login`;
    const h = home("dead", [dead1, dead2]);
    const c = captureIo(h);
    const code = await runLoginCommand(["--config", join(work, "dead.conf"), "--user", "bob", "--password-file", join(work, "pw")], c.io);
    assert.equal(code, 1);
    assert.ok(c.err().includes(`${dead1} (ECONNREFUSED)`), c.err());
    assert.ok(c.err().includes(`${dead2} (ECONNREFUSED)`), c.err());
    await assert.rejects(performLogin(["--config", join(work, "dead.conf"), "--user", "bob", "--password-file", join(work, "pw")], captureIo(h).io), { code: LoginErrorCode.Unreachable });
  });

  const misbehaviours: Array<["garbage" | "no_token", RegExp]> = [
    ["garbage", /not a JSON object/],
    ["no_token", /neither a token nor an error/],
  ];
  for (const [behaviour, re] of misbehaviours) {
    test(`malformed answer (${behaviour}) → malformed error`, async (t) => {
      const bad = await startTestAaaService({ users: {} });
      t.after(() => bad.close());
      bad.behaviour = behaviour;
      const h = home(`bad-${behaviour}`, [bad.loginUrl]);
      await assert.rejects(
        performLogin(["--config", join(work, `bad-${behaviour}.conf`), "--user", "bob", "--password-file", join(work, "pw")], captureIo(h).io),
        (err: unknown) => err instanceof LoginError && err.code === LoginErrorCode.Malformed && re.test(err.message) && err.message.includes(bad.loginUrl),
      );
    });
  }

  test("a service that never answers → timeout error, and the next URL is not tried", async (t) => {
    const slow = await startTestAaaService({ users: {} });
    t.after(() => slow.close());
    slow.behaviour = "hang";
    const before = svc.requests.total;
    const h = home("hang", [slow.loginUrl, svc.loginUrl]);
    await assert.rejects(
      performLogin(["--config", join(work, "hang.conf"), "--user", "bob", "--password-file", join(work, "pw"), "--timeout", "1s"], captureIo(h).io),
      (err: unknown) => err instanceof LoginError && err.code === LoginErrorCode.Timeout && err.message.includes(slow.loginUrl),
    );
    assert.equal(slow.requests.login, 1);
    assert.equal(svc.requests.total, before, "not retried after sending");
  });

  test("a connection reset after sending is final (not retried on the next URL)", async (t) => {
    const flaky = await startTestAaaService({ users: {} });
    t.after(() => flaky.close());
    flaky.behaviour = "reset";
    const before = svc.requests.total;
    const h = home("reset", [flaky.loginUrl, svc.loginUrl]);
    await assert.rejects(
      performLogin(["--config", join(work, "reset.conf"), "--user", "bob", "--password-file", join(work, "pw")], captureIo(h).io),
      (err: unknown) => err instanceof LoginError && err.code === LoginErrorCode.Unreachable && /after the request was sent/.test(err.message),
    );
    assert.equal(svc.requests.total, before);
  });

  test("TLS: verified with --ca; without it a TLS error naming the URL", async (t) => {
    const tlsDir = mkdtempSync(join(tmpdir(), "login-tls-"));
    t.after(() => rmSync(tlsDir, { recursive: true, force: true }));
    const tls = makeTestTls(tlsDir);
    const secure = await startTestAaaService({ users: { bob: { password: PASSWORD } }, tls: { cert: tls.cert, key: tls.key }, alg: "EdDSA" });
    t.after(() => secure.close());
    const h = home("tls", [secure.loginUrl]);
    const args = ["--config", join(work, "tls.conf"), "--user", "bob", "--password-file", join(work, "pw")];

    const c = captureIo(h);
    assert.equal(await runLoginCommand(args, c.io), 1);
    assert.match(c.err(), /TLS verification failed/);
    assert.ok(c.err().includes(secure.loginUrl));
    await assert.rejects(performLogin(args, captureIo(h).io), { code: LoginErrorCode.Tls });

    const ok = await performLogin([...args, "--ca", tls.caFile], captureIo(h).io);
    const { protectedHeader } = await jwtVerify(ok.token, secure.signerPublicKey);
    assert.equal(protectedHeader.alg, "EdDSA");
  });

  test("missing settings are named", async () => {
    const h = join(work, "nosettings");
    writeFileSync(join(work, "empty.conf"), "# nothing\n");
    const c = captureIo(h);
    assert.equal(await runLoginCommand(["--config", join(work, "empty.conf"), "--user", "bob", "--password-file", join(work, "pw")], c.io), 1);
    assert.match(c.err(), /plugin\.login\.aaasvc\.login\.url/);
  });
});
