/**
 * End-to-end tests of the login relay (src/login/relay.ts) in front of the
 * test AAA service: a login through the relay yields a token the same signer
 * verifies as a direct login; sign requests pass through; a down service is a
 * 502 naming the URL and code; failover happens only before sending; bad,
 * oversized and misrouted requests are answered without reaching the service;
 * nothing secret reaches the log; stats and the onRequest hook count outcomes.
 * Before login the relay is bounded like the client port: a silent socket is
 * closed after the TLS handshake timeout, one that says nothing after TLS
 * after the headers timeout, and connections are capped per address and in
 * all, each closed one counted.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect as netConnect, createServer, type AddressInfo, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sign } from "node:crypto";
import { PassThrough, Readable } from "node:stream";
import { Agent, request } from "undici";
import { jwtVerify } from "jose";
import { startLoginRelay, upstreamBase, type LoginRelay, type LoginRelayOptions, type RelayOutcome } from "../../src/login/relay.js";
import { performLogin, type LoginIo } from "../../src/login/command.js";
import { identityFromSeed, signLogin, generateIdentity } from "../../src/login/keys.js";
import { LoginErrorCode } from "../../src/login/errors.js";
import { createLogger, LevelControl, MemorySink } from "../../src/obs/log.js";
import { makeTestTls, startTestAaaService, type TestAaaService } from "../helpers/aaa_service.js";

const PASSWORD = "relay-Pa55word";

async function unusedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function quietIo(home: string): LoginIo {
  return { stdin: new PassThrough(), stdout: { write: () => true }, stderr: { write: () => true }, env: { HOME: home } };
}

function loginBody(user = "bob", password = PASSWORD): Record<string, string> {
  const id = generateIdentity();
  const timestamp = String(Math.floor(Date.now() / 1000));
  return { username: user, password, public_key: id.publicKeyHex, timestamp, signature: signLogin(id, timestamp, user, password) };
}

describe("login relay", () => {
  let svc: TestAaaService;
  let work: string;
  const client = new Agent({ connect: { timeout: 10_000 } });
  const sink = new MemorySink();
  const log = createLogger(sink, new LevelControl("debug"));
  const hooked: RelayOutcome[] = [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "relay-e2e-"));
    writeFileSync(join(work, "pw"), PASSWORD + "\n");
    svc = await startTestAaaService({ users: { bob: { password: PASSWORD, permissions: { fleet_management: true } } } });
  });
  after(async () => {
    await client.close();
    await svc.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function relayFor(urls: string[], t: { after(fn: () => Promise<void>): void }, extra: Partial<LoginRelayOptions> = {}): Promise<LoginRelay> {
    const relay = await startLoginRelay({
      listen: { host: "127.0.0.1", port: 0 },
      tls: null,
      urls,
      maxBodyBytes: 4096,
      timeout: 10_000,
      log,
      onRequest: (outcome) => hooked.push(outcome),
      ...extra,
    });
    t.after(() => relay.close());
    return relay;
  }

  async function post(url: string, body: string | Buffer, headers: Record<string, string> = { "content-type": "application/json" }) {
    const res = await request(url, { method: "POST", body, headers, dispatcher: client });
    const text = await res.body.text();
    return { status: res.statusCode, type: res.headers["content-type"], text, json: () => JSON.parse(text) as Record<string, string> };
  }

  test("login through the relay: token verifies with the same signer as a direct login", async (t) => {
    const relay = await relayFor([svc.url], t);
    const viaRelay = await performLogin(["--url", `http://127.0.0.1:${relay.port}/choria/v1/login`, "--token-file", join(work, "relay", "token"), "--user", "bob", "--password-file", join(work, "pw")], quietIo(work));
    const direct = await performLogin(["--url", svc.loginUrl, "--token-file", join(work, "direct", "token"), "--user", "bob", "--password-file", join(work, "pw")], quietIo(work));
    const a = await jwtVerify(viaRelay.token, svc.signerPublicKey);
    const b = await jwtVerify(direct.token, svc.signerPublicKey);
    assert.equal(a.payload.callerid, "up=bob");
    assert.equal(a.payload.callerid, b.payload.callerid);
    assert.equal(a.payload.public_key, identityFromSeed(Buffer.from(readFileSync(viaRelay.seedFile, "utf8"), "hex")).publicKeyHex);
    assert.equal(relay.stats.ok, 1);
    assert.ok(relay.stats.latencyCount === 1 && relay.stats.latencySecondsSum > 0);
    assert.ok(hooked.includes("ok"));

    // Nothing secret in the relay's log.
    const logged = sink.lines.join("");
    for (const secret of [PASSWORD, viaRelay.token]) assert.ok(!logged.includes(secret), "secret leaked into the log");
  });

  test("the service's answer passes through unchanged (refusal, status, content type)", async (t) => {
    const relay = await relayFor([svc.loginUrl], t); // a full login URL works as a base too
    const res = await post(`http://127.0.0.1:${relay.port}/choria/v1/login`, JSON.stringify(loginBody("bob", "wrong")));
    assert.equal(res.status, 200);
    assert.equal(res.type, "application/json");
    assert.deepEqual(res.json(), { error: "Login failed" });
  });

  test("sign requests are relayed", async (t) => {
    const relay = await relayFor([svc.url], t);
    const login = await performLogin(["--url", svc.loginUrl, "--token-file", join(work, "sign", "token"), "--user", "bob", "--password-file", join(work, "pw")], quietIo(work));
    const id = identityFromSeed(Buffer.from(readFileSync(login.seedFile, "utf8"), "hex"));
    const choriaRequest = Buffer.from(JSON.stringify({ protocol: "choria:request:1", agent: "rpcutil" }));
    const body = { token: login.token, request: choriaRequest.toString("base64"), signature: sign(null, choriaRequest, id.privateKey).toString("hex") };
    const res = await post(`http://127.0.0.1:${relay.port}/choria/v1/sign`, JSON.stringify(body));
    assert.equal(res.status, 200);
    const secure = JSON.parse(Buffer.from(res.json().secure_request!, "base64").toString()) as { message: string };
    assert.equal(secure.message, choriaRequest.toString());
    assert.ok(!sink.lines.join("").includes(body.signature));
  });

  test("a down AAA service → 502 naming the URL and the error code", async (t) => {
    const deadPort = await unusedPort();
    const relay = await relayFor([`http://127.0.0.1:${deadPort}`], t);
    const res = await post(`http://127.0.0.1:${relay.port}/choria/v1/login`, JSON.stringify(loginBody()));
    assert.equal(res.status, 502);
    assert.deepEqual(res.json(), { error: `AAA service unreachable: http://127.0.0.1:${deadPort}/choria/v1: ECONNREFUSED` });
    assert.equal(relay.stats.upstream_error, 1);
    // The login command reports it as unreachable.
    await assert.rejects(
      performLogin(["--url", `http://127.0.0.1:${relay.port}/choria/v1/login`, "--token-file", join(work, "down", "token"), "--user", "bob", "--password-file", join(work, "pw")], quietIo(work)),
      (err: Error & { code?: string }) => err.code === LoginErrorCode.Unreachable && /HTTP 502: AAA service unreachable/.test(err.message),
    );
  });

  test("fails over to the next URL when one cannot be connected to", async (t) => {
    const relay = await relayFor([`http://127.0.0.1:${await unusedPort()}`, svc.url], t);
    const res = await post(`http://127.0.0.1:${relay.port}/choria/v1/login`, JSON.stringify(loginBody()));
    assert.equal(res.status, 200);
    assert.ok(typeof res.json().token === "string");
  });

  test("never retries once the request was sent (reset, timeout)", async (t) => {
    const flaky = await startTestAaaService({ users: {} });
    t.after(() => flaky.close());
    flaky.behaviour = "reset";
    const before = svc.requests.total;
    const relay = await relayFor([flaky.url, svc.url], t);
    const res = await post(`http://127.0.0.1:${relay.port}/choria/v1/login`, JSON.stringify(loginBody()));
    assert.equal(res.status, 502);
    assert.match(res.json().error!, new RegExp(`^AAA service failed: ${flaky.url}/choria/v1: `));

    flaky.behaviour = "hang";
    const slowRelay = await relayFor([flaky.url, svc.url], t, { timeout: 1000 });
    const slow = await post(`http://127.0.0.1:${slowRelay.port}/choria/v1/login`, JSON.stringify(loginBody()));
    assert.equal(slow.status, 504);
    assert.equal(svc.requests.total, before, "the second service was never contacted");
  });

  test("oversized and malformed bodies are refused without contacting the service", async (t) => {
    const relay = await relayFor([svc.url], t);
    const base = `http://127.0.0.1:${relay.port}`;
    const before = svc.requests.total;

    const big = await post(`${base}/choria/v1/login`, JSON.stringify({ ...loginBody(), password: "x".repeat(8000) }));
    assert.equal(big.status, 413);
    assert.match(big.json().error!, /larger than 4096 bytes/);

    // Chunked, no content-length: the limit is enforced while reading.
    const chunked = await request(`${base}/choria/v1/login`, {
      method: "POST",
      dispatcher: client,
      body: Readable.from((async function* () {
        for (let i = 0; i < 3; i++) yield Buffer.alloc(2000, 0x20);
      })()),
    });
    assert.equal(chunked.statusCode, 413);
    await chunked.body.text();

    const cases: Array<[string, string, string, RegExp]> = [
      ["not JSON", "/choria/v1/login", "{nope", /^request body is not valid JSON$/],
      ["array", "/choria/v1/login", "[]", /JSON object/],
      ["bad key", "/choria/v1/login", JSON.stringify({ ...loginBody(), public_key: "abc" }), /^invalid login request: public_key: must be 64 hex/],
      ["missing password", "/choria/v1/login", JSON.stringify({ ...loginBody(), password: undefined }), /password: is required/],
      ["sign without token", "/choria/v1/sign", JSON.stringify({ request: "e30=" }), /^invalid sign request: token: is required$/],
    ];
    for (const [name, path, body, re] of cases) {
      const res = await post(base + path, body);
      assert.equal(res.status, 400, name);
      assert.match(res.json().error!, re, name);
      assert.ok(!res.text.includes(PASSWORD), name);
    }
    assert.equal(svc.requests.total, before, "the AAA service saw none of them");
    assert.equal(relay.stats.too_large, 2);
    assert.equal(relay.stats.bad_request, cases.length);
    assert.equal(relay.stats.ok, 0);
  });

  test("unknown paths 404, other methods 405", async (t) => {
    const relay = await relayFor([svc.url], t);
    const base = `http://127.0.0.1:${relay.port}`;
    const before = svc.requests.total;
    const notFound = await post(`${base}/choria/v1/other`, "{}");
    assert.equal(notFound.status, 404);
    assert.ok(typeof notFound.json().error === "string");
    const get = await request(`${base}/choria/v1/login`, { method: "GET", dispatcher: client });
    assert.equal(get.statusCode, 405);
    assert.equal(get.headers.allow, "POST");
    await get.body.text();
    assert.equal(svc.requests.total, before);
  });

  test("over HTTPS, verified by the login command with --ca", async (t) => {
    const tlsDir = mkdtempSync(join(tmpdir(), "relay-tls-"));
    t.after(() => rmSync(tlsDir, { recursive: true, force: true }));
    const tls = makeTestTls(tlsDir);
    // Certificate from files (paths), the way the gateway config names them.
    const relay = await relayFor([svc.url], t, { tls: { cert: tls.certFile, key: tls.keyFile } });
    const result = await performLogin(["--url", `https://127.0.0.1:${relay.port}/choria/v1/login`, "--ca", tls.caFile, "--token-file", join(work, "tls", "token"), "--user", "bob", "--password-file", join(work, "pw")], quietIo(work));
    assert.equal((await jwtVerify(result.token, svc.signerPublicKey)).payload.callerid, "up=bob");
  });
});

describe("login relay before login: bounded like the client port", () => {
  let work: string;
  let tls: ReturnType<typeof makeTestTls>;
  before(() => {
    work = mkdtempSync(join(tmpdir(), "relay-bounds-"));
    tls = makeTestTls(work);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  async function relay(t: { after(fn: () => Promise<void>): void }, extra: Partial<LoginRelayOptions>): Promise<LoginRelay> {
    // No AAA service is needed: nothing here gets as far as a request.
    const r = await startLoginRelay({ listen: { host: "127.0.0.1", port: 0 }, tls: null, urls: ["http://127.0.0.1:1"], maxBodyBytes: 4096, timeout: 10_000, log: createLogger(new MemorySink(), new LevelControl("error")), ...extra });
    t.after(() => r.close());
    return r;
  }

  /** A TCP socket that sends nothing; `closed` resolves when the relay closes it. */
  function silent(port: number, from = "127.0.0.1"): { socket: Socket; closed: Promise<void> } {
    const socket = netConnect({ port, host: "127.0.0.1", localAddress: from });
    socket.on("error", () => {});
    return { socket, closed: new Promise<void>((resolve) => socket.once("close", () => resolve())) };
  }

  async function closedWithin<T extends { socket: Socket; closed: Promise<void> }>(socks: T[], ms: number): Promise<number> {
    await Promise.race([Promise.all(socks.map((s) => s.closed)), new Promise((r) => setTimeout(r, ms))]);
    return socks.filter((s) => s.socket.destroyed).length;
  }

  test("silent sockets are closed after the TLS handshake timeout (tls_timeout), not Node's 120 s", async (t) => {
    const r = await relay(t, { tls: { cert: tls.certFile, key: tls.keyFile }, handshakeTimeout: 1000 });
    const socks = Array.from({ length: 50 }, () => silent(r.port));
    t.after(() => socks.forEach((s) => s.socket.destroy()));
    assert.equal(await closedWithin(socks, 5000), 50, "every silent socket closed by the relay within 5 s");
    assert.equal(r.stats.refused.tls_handshake, 50);
  });

  test("a TLS connection that sends no request is closed once it was idle for tls_timeout", async (t) => {
    const r = await relay(t, { tls: { cert: tls.certFile, key: tls.keyFile }, handshakeTimeout: 1000 });
    const socket = tlsConnect({ port: r.port, host: "127.0.0.1", ca: readFileSync(tls.caFile), servername: "localhost" });
    socket.on("error", () => {});
    t.after(() => void socket.destroy());
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    await new Promise<void>((resolve) => socket.once("secureConnect", () => resolve()));
    const started = Date.now();
    await Promise.race([closed, new Promise((res) => setTimeout(res, 6000))]);
    assert.ok(socket.destroyed, "closed by the relay within 6 s");
    assert.ok(Date.now() - started >= 900, "not before it was idle for tls_timeout");
    assert.equal(r.stats.refused.idle, 1);
  });

  test("connections are capped per address and for the whole listener; each one closed is counted", async (t) => {
    const r = await relay(t, { maxPerAddress: 3, maxConnections: 5 });
    const first = [silent(r.port), silent(r.port), silent(r.port)];
    t.after(() => first.forEach((s) => s.socket.destroy()));
    await Promise.all(first.map((s) => new Promise((res) => s.socket.once("connect", res))));
    const extra = silent(r.port);
    t.after(() => extra.socket.destroy());
    assert.equal(await closedWithin([extra], 2000), 1, "the fourth from one address is closed at once");
    assert.equal(r.stats.refused.address_busy, 1);
    assert.equal(await closedWithin(first, 500), 0, "the first three are still open");
    // Another address still gets in, and gets its answer, while the first one is at its limit.
    const other = new Agent({ localAddress: "127.0.0.2" });
    t.after(() => other.close());
    const res = await request(`http://127.0.0.1:${r.port}/nope`, { dispatcher: other });
    await res.body.text();
    assert.equal(res.statusCode, 404);
    // Up to five open in all: the sixth, from yet another address, is dropped by the listener.
    const more = [silent(r.port, "127.0.0.3"), silent(r.port, "127.0.0.3")];
    t.after(() => more.forEach((s) => s.socket.destroy()));
    await Promise.all(more.map((s) => new Promise((res) => s.socket.once("connect", res))));
    const sixth = silent(r.port, "127.0.0.4");
    t.after(() => sixth.socket.destroy());
    assert.equal(await closedWithin([sixth], 2000), 1, "the sixth connection is dropped");
    assert.ok(r.stats.refused.listener_full >= 1);
  });
});

describe("upstreamBase", () => {
  const cases: Array<[string, string, string]> = [
    ["https://aaa:8080", "https://aaa:8080", "/choria/v1"],
    ["https://aaa:8080/", "https://aaa:8080", "/choria/v1"],
    ["https://aaa:8080/choria/v1/login", "https://aaa:8080", "/choria/v1"],
    ["https://aaa/prefix/choria/v1/", "https://aaa", "/prefix/choria/v1"],
    ["http://127.0.0.1:1/choria/v1/sign", "http://127.0.0.1:1", "/choria/v1"],
  ];
  for (const [url, origin, pathPrefix] of cases) {
    test(url, () => assert.deepEqual(upstreamBase(url), { origin, pathPrefix }));
  }
  test("refuses non-HTTP URLs", () => assert.throws(() => upstreamBase("nats://x:4222"), { code: "GW_ERR_RELAY_CONFIG" }));
});
