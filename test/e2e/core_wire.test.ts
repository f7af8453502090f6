// Every error path of the client port on raw sockets, asserting the
// exact nats-server `-ERR` text (docs/protocol.md#error-catalogue) and whether the
// connection stays open. The development authenticator is named explicitly.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect as netConnect } from "node:net";
import { getPki, type Pki } from "../helpers/pki.js";
import { startGateway, type TestGateway } from "../helpers/gateway.js";
import { rawConnect, type RawClient } from "../helpers/raw.js";
import { waitFor } from "../helpers/hub.js";

const A = "plugin.choria.network.aaa_leafnode.";
const CONNECT = 'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1,"user":"wire"}\r\n';

describe("client port error paths (raw protocol)", () => {
  let pki: Pki;
  let g: TestGateway;
  const clients: RawClient[] = [];
  const open = async (gw = g) => {
    const c = await rawConnect(gw.gw.clientPort, pki.ca);
    clients.push(c);
    return c;
  };
  const ready = async (gw = g) => {
    const c = await open(gw);
    c.send(CONNECT + "PING\r\n");
    await c.expect(/PONG\r\n/);
    return c;
  };

  before(async () => {
    pki = await getPki();
    g = await startGateway(pki, [
      `${A}max_payload = 1024`,
      `${A}max_control_line = 256`,
      `${A}max_connect_line = 8192`,
      `${A}max_subscriptions = 3`,
      "plugin.choria.network.auth_timeout = 500ms",
      "plugin.choria.network.tls_timeout = 500ms",
      `${A}max_token_size = 4KB`,
    ], { development: true });
  });
  after(async () => {
    for (const c of clients) c.close();
    await g.stop();
  });

  test("INFO names TLS, headers, auth, max_payload and a fresh nonce per connection", async () => {
    const a = await open();
    const b = await open();
    assert.equal(a.info.tls_required, true);
    assert.equal(a.info.headers, true);
    assert.equal(a.info.auth_required, true);
    assert.equal(a.info.max_payload, 1024);
    assert.equal(a.info.proto, 1);
    assert.match(String(a.info.server_id), /^N[A-Z0-9]{55}$/);
    assert.match(String(a.info.nonce), /^[A-Za-z0-9_-]{15}$/);
    assert.notEqual(a.info.nonce, b.info.nonce);
    assert.notEqual(a.info.client_id, b.info.client_id);
    assert.equal(a.info.client_ip, "127.0.0.1");
  });

  const closing: [string, string, RegExp | null][] = [
    ["unknown operation", "FOO bar\r\n", /-ERR 'Unknown Protocol Operation'\r\n/],
    ["leading whitespace", "  PING\r\n", /-ERR 'Unknown Protocol Operation'\r\n/],
    ["payload without CRLF terminator", "PUB foo 1\r\nxx\r\n", /-ERR 'Unknown Protocol Operation'\r\n/],
    ["client sending MSG", "MSG foo 1 2\r\nhi\r\n", /-ERR 'Unknown Protocol Operation'\r\n/],
    ["maximum control line", `SUB ${"a".repeat(300)} 1\r\n`, /-ERR 'maximum control line exceeded'\r\n/],
    ["maximum control line on a partial line", `PUB ${"b".repeat(300)}`, /-ERR 'maximum control line exceeded'\r\n/],
    ["maximum payload", "PUB foo 2000\r\n", /-ERR 'Maximum Payload Violation'\r\n/],
    ["maximum payload counts the HPUB total", "HPUB foo 12 1030\r\n", /-ERR 'Maximum Payload Violation'\r\n/],
    ["malformed PUB arguments (silent, as nats-server)", "PUB foo\r\n", null],
    // Route, gateway and leafnode ops from an authenticated client: nats-server 2.9.10 answers as to any unknown op.
    ["RS+ from a client", "RS+ $G foo\r\n", /-ERR 'Unknown Protocol Operation'\r\n/],
    ["RS- from a client", "RS- $G foo\r\n", /-ERR 'Unknown Protocol Operation'\r\n/],
    ["RMSG from a client", "RMSG $G foo 2\r\nhi\r\n", /-ERR 'Unknown Protocol Operation'\r\n/],
    ["LS+ from a client", "LS+ foo\r\n", /-ERR 'Unknown Protocol Operation'\r\n/],
    ["LS- from a client", "LS- foo\r\n", /-ERR 'Unknown Protocol Operation'\r\n/],
    ["LMSG from a client", "LMSG foo 2\r\nhi\r\n", /-ERR 'Unknown Protocol Operation'\r\n/],
    ["A+ from a client", "A+ $G\r\n", /-ERR 'Unknown Protocol Operation'\r\n/],
    ["A- from a client", "A- $G\r\n", /-ERR 'Unknown Protocol Operation'\r\n/],
    ["lower-case ls+ from a client", "ls+ foo\r\n", /-ERR 'Unknown Protocol Operation'\r\n/],
    ["client -ERR", "-ERR 'oops'\r\n", null],
  ];
  for (const [name, bytes, expected] of closing) {
    test(`closes on ${name}`, async () => {
      const c = await ready();
      c.send(bytes);
      if (expected) await c.expect(expected);
      await c.closed;
      assert.ok(c.isClosed());
      if (!expected) assert.doesNotMatch(c.buffer, /-ERR/);
    });
  }

  test("HPUB on a connection that did not negotiate headers is closed silently", async () => {
    const c = await open();
    c.send('CONNECT {"verbose":false,"user":"nh"}\r\nPING\r\n');
    await c.expect(/PONG\r\n/);
    c.send("HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
    await c.closed;
    assert.doesNotMatch(c.buffer, /-ERR/);
  });

  const connectRefusals: [string, string, RegExp | null][] = [
    ["an op before CONNECT", "PING\r\n", /-ERR 'Authorization Violation'\r\n/],
    ["invalid JSON in CONNECT (silent)", "CONNECT {verbose:false}\r\n", null],
    ["protocol 2", 'CONNECT {"protocol":2}\r\n', /-ERR 'invalid client protocol'\r\n/],
    ["no_responders without headers", 'CONNECT {"no_responders":true}\r\n', /-ERR 'no responders requires headers support'\r\n/],
    ["an account in CONNECT", 'CONNECT {"account":"X"}\r\n', /-ERR 'Authorization Violation'\r\n/],
    ["a gateway CONNECT", 'CONNECT {"gateway":"CHORIA","name":"x"}\r\n', /-ERR 'Authorization Violation'\r\n/],
    ["a leafnode CONNECT", 'CONNECT {"is_hub":false,"name":"x"}\r\n', /-ERR 'Authorization Violation'\r\n/],
  ];
  for (const [name, bytes, expected] of connectRefusals) {
    test(`refuses ${name}`, async () => {
      const c = await open();
      c.send(bytes);
      if (expected) await c.expect(expected);
      await c.closed;
      if (!expected) assert.doesNotMatch(c.buffer, /-ERR/);
    });
  }

  test("no CONNECT in time: Authentication Timeout", async () => {
    const c = await open();
    const started = Date.now();
    await c.expect(/-ERR 'Authentication Timeout'\r\n/, 5000);
    await c.closed;
    assert.ok(Date.now() - started >= 400);
  });

  test("a client that never upgrades to TLS is closed", async () => {
    const sock = netConnect(g.gw.clientPort, "127.0.0.1");
    let got = "";
    sock.on("data", (b) => (got += b.toString("latin1")));
    await new Promise((r) => sock.once("connect", r));
    await waitFor("INFO", () => (got.startsWith("INFO ") ? true : undefined));
    sock.write(CONNECT + "PING\r\n"); // plain text where TLS must start
    await new Promise((r) => sock.once("close", r));
    assert.doesNotMatch(got, /PONG/);
  });

  test("stays open: invalid subject, wildcard publish, max subscriptions", async () => {
    const c = await ready();
    c.send("SUB foo..bar 1\r\nPING\r\n");
    await c.expect(/^-ERR 'Invalid Subject'\r\nPONG\r\n$/);
    c.send("PUB foo.* 2\r\nhi\r\nPUB foo.> 2\r\nhi\r\nPUB a..b 0\r\n\r\nPING\r\n");
    await c.expect(/^-ERR 'Permissions Violation for Publish to "foo\.\*"'\r\n-ERR 'Permissions Violation for Publish to "foo\.>"'\r\n-ERR 'Permissions Violation for Publish to "a\.\.b"'\r\nPONG\r\n$/);
    c.send("SUB s1 1\r\nSUB s2 2\r\nSUB s3 3\r\nSUB s4 4\r\nPING\r\n");
    await c.expect(/^-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n$/);
    c.send("PUB s3 2\r\nok\r\nPING\r\n");
    await c.expect(/^MSG s3 3 2\r\nok\r\nPONG\r\n$/);
    assert.equal(c.isClosed(), false);
  });

  test("reserved reply prefixes are refused and the message dropped", async () => {
    const c = await ready();
    c.send("SUB r.x 1\r\nPUB r.x _R_.a 2\r\nhi\r\nPUB r.x $JS.ACK.a 2\r\nhi\r\nPUB _GR_.a.b 0\r\n\r\nPING\r\n");
    await c.expect(/^-ERR 'Permissions Violation for Publish with Reply of "_R_\.a"'\r\n-ERR 'Permissions Violation for Publish with Reply of "\$JS\.ACK\.a"'\r\n-ERR 'Permissions Violation for Publish to "_GR_\.a\.b"'\r\nPONG\r\n$/);
  });

  test("verbose mode acknowledges, +OK before the resulting MSG; UNSUB with max", async () => {
    const c = await open();
    c.send('CONNECT {"verbose":true,"user":"v"}\r\nSUB v.x 1\r\nPUB v.x 2\r\nhi\r\nUNSUB 1 2\r\nPUB v.x 1\r\na\r\nPUB v.x 1\r\nb\r\nPUB v.x 1\r\nc\r\nPING\r\n');
    await c.expect(/^\+OK\r\n\+OK\r\n\+OK\r\nMSG v\.x 1 2\r\nhi\r\n\+OK\r\n\+OK\r\nMSG v\.x 1 1\r\na\r\n\+OK\r\n\+OK\r\nPONG\r\n$/);
  });

  test("no responders: a 503 status on the requester's reply subscription", async () => {
    const c = await ready();
    c.send("SUB reply.> 9\r\nPUB nobody reply.x 2\r\nhi\r\nPING\r\n");
    await c.expect(/^HMSG reply\.x 9 16 16\r\nNATS\/1\.0 503\r\n\r\n\r\nPONG\r\n$/);
  });

  test("headers are stripped for a subscriber without header support", async () => {
    const plain = await open();
    plain.send('CONNECT {"verbose":false,"user":"plain"}\r\nSUB h.x 1\r\nPING\r\n');
    await plain.expect(/PONG\r\n/);
    const pub = await ready();
    pub.send("HPUB h.x 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n");
    await pub.expect(/PONG\r\n/);
    await plain.expect(/^MSG h\.x 1 2\r\nhi\r\n$/);
  });

  test("split ops across many writes", async () => {
    const c = await ready();
    const stream = "SUB sp.x 5\r\nPUB sp.x 5\r\nhello\r\nPING\r\n";
    for (const ch of stream) c.send(ch);
    await c.expect(/^MSG sp\.x 5 5\r\nhello\r\nPONG\r\n$/);
  });
});

describe("limits that need their own gateway", () => {
  let pki: Pki;
  before(async () => {
    pki = await getPki();
  });

  test("max connections: INFO, then -ERR 'maximum connections exceeded' and close", async (t) => {
    const g = await startGateway(pki, [`${A}max_connections = 2`], { development: true });
    t.after(() => g.stop());
    const a = await rawConnect(g.gw.clientPort, pki.ca);
    const b = await rawConnect(g.gw.clientPort, pki.ca);
    t.after(() => {
      a.close();
      b.close();
    });
    const c = await rawConnect(g.gw.clientPort, pki.ca);
    t.after(() => c.close());
    assert.ok(c.info.server_id, "INFO is still sent");
    await c.expect(/-ERR 'maximum connections exceeded'\r\n/);
    await c.closed;
    assert.equal(a.isClosed(), false);
  });

  test("unanswered server PINGs: -ERR 'Stale Connection' and close", async (t) => {
    const g = await startGateway(pki, [`${A}ping_interval = 1s`, `${A}ping_max = 2`], { development: true });
    t.after(() => g.stop());
    const c = await rawConnect(g.gw.clientPort, pki.ca);
    t.after(() => c.close());
    c.send(CONNECT + "PING\r\n");
    await c.expect(/PONG\r\n/);
    await c.expect(/^PING\r\nPING\r\n-ERR 'Stale Connection'\r\n$/, 10000);
    await c.closed;
  });

  test("answered PINGs keep the connection", async (t) => {
    const g = await startGateway(pki, [`${A}ping_interval = 1s`, `${A}ping_max = 1`], { development: true });
    t.after(() => g.stop());
    const c = await rawConnect(g.gw.clientPort, pki.ca);
    t.after(() => c.close());
    c.send(CONNECT);
    for (let i = 0; i < 3; i++) {
      await c.expect(/PING\r\n/, 5000);
      c.send("PONG\r\n");
    }
    assert.equal(c.isClosed(), false);
  });

  test("a subscriber that does not read is closed as a slow consumer; others are unaffected", async (t) => {
    const g = await startGateway(pki, [`${A}max_pending = 256KB`, `${A}max_payload = 64KB`], { development: true });
    t.after(() => g.stop());
    const slow = await rawConnect(g.gw.clientPort, pki.ca);
    t.after(() => slow.close());
    slow.send(CONNECT + "SUB flood 1\r\nPING\r\n");
    await slow.expect(/PONG\r\n/);
    const fast = await rawConnect(g.gw.clientPort, pki.ca);
    t.after(() => fast.close());
    fast.send(CONNECT + "SUB other 1\r\nPING\r\n");
    await fast.expect(/PONG\r\n/);
    // Stop reading on the slow client at the socket level.
    slow.pauseReading();
    const pub = await rawConnect(g.gw.clientPort, pki.ca);
    t.after(() => pub.close());
    pub.send(CONNECT);
    const body = "x".repeat(60000);
    for (let i = 0; i < 400; i++) pub.send(`PUB flood ${body.length}\r\n${body}\r\n`);
    pub.send("PUB other 2\r\nok\r\nPING\r\n");
    await pub.expect(/PONG\r\n/, 20000);
    await fast.expect(/MSG other 1 2\r\nok\r\n/);
    await waitFor("slow consumer counted", () => (g.gw.counters.slowConsumers >= 1 ? true : undefined), 20000);
    assert.equal(g.gw.counters.closeReasons["slow_consumer_pending_bytes"], 1);
    assert.equal(g.gw.conns.size, 2, "only the slow client was closed");
    assert.ok(g.logs.lines.some((l) => l.includes('"slow consumer closed"')), "logged");
  });

  test("shutdown flushes every client's pending data before closing", async (t) => {
    const g = await startGateway(pki, [], { development: true });
    const sub = await rawConnect(g.gw.clientPort, pki.ca);
    t.after(() => sub.close());
    sub.send(CONNECT + "SUB last.words 1\r\nPING\r\n");
    await sub.expect(/PONG\r\n/);
    const pub = await rawConnect(g.gw.clientPort, pki.ca);
    t.after(() => pub.close());
    pub.send(CONNECT + "PING\r\n");
    await pub.expect(/PONG\r\n/);
    let payload = "";
    for (let i = 0; i < 200; i++) payload += `PUB last.words 4\r\n${String(i).padStart(4, "0")}\r\n`;
    pub.send(payload + "PING\r\n");
    await pub.expect(/PONG\r\n/);
    await g.stop();
    await sub.closed;
    const msgs = sub.buffer.match(/MSG last\.words 1 4\r\n\d{4}\r\n/g) ?? [];
    assert.equal(msgs.length, 200);
  });
});
