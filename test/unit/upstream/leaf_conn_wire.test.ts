/**
 * LeafConn's exact bytes, against a scripted hub on a plain TCP socket (port 0):
 * the CONNECT fields, LS+/LS- transitions with byte-identical keys, the
 * `$LDS.` and import-grant guards, LMSG forms with queue names, the outage
 * buffer flushed only after the barrier PONG, staleness, and the 30 s pause
 * after "Loop detected". The real-hub behaviour is covered in test/e2e.
 */
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { LeafConn, type LeafConnOptions } from "../../../src/upstream/leaf_conn.js";
import { createLogger, LevelControl, MemorySink } from "../../../src/obs/log.js";
import { waitFor } from "../../helpers/hub.js";
import type { LocalInterest } from "../../../src/router/types.js";
import { localSide } from "../../helpers/local_side.js";

/** One leaf connection as the scripted hub sees it. */
class HubSide {
  private text = "";
  private waiters: (() => void)[] = [];
  constructor(readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      this.text += d;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on("error", () => {});
  }
  send(s: string): void {
    this.socket.write(s);
  }
  /** The next bytes the leaf sends must be exactly `want`. */
  async expect(want: string): Promise<void> {
    await waitFor(`${JSON.stringify(want)} from the leaf`, () => (this.text.length >= want.length ? true : undefined), 5000, 5);
    const got = this.text.slice(0, want.length);
    this.text = this.text.slice(want.length);
    assert.equal(got, want);
  }
  /** The next control line; returned without CRLF. */
  async line(): Promise<string> {
    const i = await waitFor("a line from the leaf", () => { const i = this.text.indexOf("\r\n"); return i >= 0 ? i : undefined; }, 5000, 5);
    const l = this.text.slice(0, i);
    this.text = this.text.slice(i + 2);
    return l;
  }
}

class ScriptedHub {
  readonly conns: HubSide[] = [];
  constructor(readonly server: Server, readonly port: number) {}
  static async start(t: TestContext, info: Record<string, unknown> = {}): Promise<ScriptedHub> {
    const sockets = new Set<Socket>();
    let hub: ScriptedHub;
    const server = createServer((s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      const first = { server_id: "NFAKE", server_name: "fake", version: "2.9.10", proto: 1, headers: true, auth_required: true,
        max_payload: 1048576, client_id: 7, nonce: "abcdefghijklmno", info_on_connect: true, leafnode_urls: [`127.0.0.1:${hub.port}`], ...info };
      s.write(`INFO ${JSON.stringify(first)} \r\n`);
      hub.conns.push(new HubSide(s));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    hub = new ScriptedHub(server, (server.address() as { port: number }).port);
    t.after(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }));
    return hub;
  }
  conn(n: number): Promise<HubSide> {
    return waitFor(`hub connection #${n}`, () => this.conns[n], 5000, 5);
  }
}

const REGISTERED = 'INFO {"server_id":"NFAKE","client_id":7,"connect_info":true,"remote_account":"$G","leafnode_urls":[]} \r\n';
const b = (s: string): Uint8Array => Buffer.from(s);

function startLeaf(t: TestContext, hub: ScriptedHub, over: Partial<LeafConnOptions> & { snapshot?: LocalInterest[] } = {}) {
  const logs = new MemorySink();
  const received: string[] = [];
  const local = localSide(() => over.snapshot ?? [], (subject, reply, queues, hdrLen, payload) =>
    received.push(`${subject}|${reply ?? ""}|${queues?.join(",") ?? ""}|${hdrLen}|${Buffer.from(payload).toString()}`));
  const leaf = new LeafConn({
    remote: { name: "fake", urls: [`nats://127.0.0.1:${hub.port}`], tls: { verify: true, handshakeFirst: false }, account: "$G" },
    serverName: "gw-wire",
    version: "0.1.0",
    bufferBytes: 1 << 20,
    reconnectBaseDelay: 20,
    reconnectMaxDelay: 50,
    pingInterval: 60_000,
    pingMax: 2,
    log: createLogger(logs, new LevelControl("debug")),
    local,
    timeouts: { register: 5000 },
    ...over,
  });
  leaf.start();
  t.after(() => leaf.stop());
  return { leaf, logs, received, local };
}

/** Through both barriers to live, with `hubLines` (LS+ …) from the hub. */
async function goLive(c: { line(): Promise<string>; send(s: string): void; expect(s: string): Promise<void> }, hubLines = ""): Promise<void> {
  await c.line(); // CONNECT
  await c.expect("PING\r\n");
  c.send(REGISTERED + hubLines + "PONG\r\n");
}

describe("LeafConn on the wire", () => {
  test("CONNECT, interest transitions, guards and LMSG forms", async (t) => {
    const hub = await ScriptedHub.start(t);
    const snapshot = [
      { subject: "foo.>", queue: undefined, weight: 1 },
      { subject: "work", queue: "wq", weight: 3 },
    ];
    const { leaf, received } = startLeaf(t, hub, { snapshot });
    const c = await hub.conn(0);
    const connect = await c.line();
    assert.match(connect, /^CONNECT \{/);
    assert.deepEqual(JSON.parse(connect.slice(8)), { version: "0.1.0", tls_required: false, name: "gw-wire", headers: true });
    // The first barrier: the replay waits until the hub's own LS+ burst ($LDS included) has been read.
    await c.expect("PING\r\n");
    c.send(REGISTERED + "LS+ $LDS.abc\r\nLS+ up.>\r\nLS+ jobs workers 2\r\nLS+ mixed\r\nLS+ mixed q1 1\r\n");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(leaf.connected, false, "not registered before the barrier PONG");
    c.send("PONG\r\n");
    await c.expect("LS+ foo.>\r\nLS+ work wq 3\r\nPING\r\n");
    c.send("PONG\r\n");
    await waitFor("live", () => (leaf.forward("up.first", undefined, -1, b("1"), null) ? true : undefined));
    await c.expect("LMSG up.first 1\r\n1\r\n");

    // Transitions come deduplicated from the router's interest map; the link relays them.
    leaf.setInterest("work", "wq", 4);
    leaf.setInterest("work", "wq", 0);
    leaf.setInterest("$LDS.abc", undefined, 1); // the hub's loop subject: never reflected
    leaf.setInterest("$LDS.other", undefined, 1); // nor any $LDS. literal
    leaf.setInterest("$KV.bucket.key", undefined, 1); // the JetStream deny of a non-extended leaf
    leaf.setInterest("sentinel", undefined, 1);
    await c.expect("LS+ work wq 4\r\nLS- work wq\r\nLS+ sentinel\r\n");

    const table: [string, string | undefined, ReadonlySet<string> | null, boolean][] = [
      ["up.x", "r.1", null, true],
      ["jobs", "r.2", null, true],
      ["jobs", undefined, null, true],
      ["jobs", undefined, new Set(["workers"]), false],
      ["mixed", undefined, new Set(["q1"]), true],
      ["mixed", "r.3", null, true],
      ["nobody", undefined, null, false],
    ];
    for (const [subject, reply, served, want] of table) {
      assert.equal(leaf.forward(subject, reply, -1, b("hi"), served), want, `${subject} ${reply} ${served ? [...served] : ""}`);
    }
    const hdr = "NATS/1.0\r\n\r\n";
    leaf.forward("jobs", "r.4", hdr.length, b(hdr + "hi"), null);
    await c.expect([
      "LMSG up.x r.1 2\r\nhi\r\n",
      "LMSG jobs + r.2 workers 2\r\nhi\r\n",
      "LMSG jobs | workers 2\r\nhi\r\n",
      "LMSG mixed 2\r\nhi\r\n",
      "LMSG mixed + r.3 q1 2\r\nhi\r\n",
      `HMSG jobs + r.4 workers 12 14\r\n${hdr}hi\r\n`,
    ].join(""));

    c.send("PING\r\nLMSG foo.bar + _INBOX.h.1 qa 3\r\nabc\r\n");
    await c.expect("PONG\r\n");
    await waitFor("hub message", () => received[0]);
    assert.deepEqual(received, ["foo.bar|_INBOX.h.1|qa|-1|abc"]);
    assert.equal(leaf.stats.outMsgs, 7);
  });

  test("import grants keep literal interest the hub would refuse", async (t) => {
    const hub = await ScriptedHub.start(t);
    const snapshot = ["bar", "foo.x", "foo.secret", "baz.*"].map((subject) => ({ subject, queue: undefined, weight: 1 }));
    const { logs } = startLeaf(t, hub, { snapshot });
    const c = await hub.conn(0);
    await c.line();
    await c.expect("PING\r\n");
    c.send(REGISTERED.replace('"connect_info"', '"import":{"allow":["foo.\\u003e","baz.*"],"deny":["foo.secret"]},"connect_info"') + "PONG\r\n");
    await c.expect("LS+ foo.x\r\nLS+ baz.*\r\nPING\r\n");
    const refused = logs.records().filter((r) => r.msg === "not announcing interest the hub refuses").map((r) => r.subject);
    assert.deepEqual(refused, ["bar", "foo.secret"]);
  });

  test("publishes buffered while down are flushed after the barrier PONG, where the hub has interest", async (t) => {
    const hub = await ScriptedHub.start(t);
    const { leaf } = startLeaf(t, hub);
    for (const s of ["a.1", "b.2", "a.3"]) assert.equal(leaf.forward(s, undefined, -1, b(s), null), true);
    assert.equal(leaf.stats.bufferedMsgs, 3);
    const c = await hub.conn(0);
    await c.line();
    await c.expect("PING\r\n");
    c.send(REGISTERED + "LS+ a.>\r\nPONG\r\n");
    await c.expect("PING\r\n");
    assert.equal(leaf.forward("a.4", undefined, -1, b("a.4"), null), true); // still behind the barrier: queued in order
    c.send("PONG\r\n");
    await c.expect("LMSG a.1 3\r\na.1\r\nLMSG a.3 3\r\na.3\r\nLMSG a.4 3\r\na.4\r\n");
    assert.equal(leaf.stats.bufferedMsgs, 0);
    assert.equal(leaf.stats.bufferedBytes, 0);
  });

  test("a hub without header support gets the body only", async (t) => {
    const hub = await ScriptedHub.start(t, { headers: false });
    const { leaf } = startLeaf(t, hub);
    const c = await hub.conn(0);
    await c.line();
    await c.expect("PING\r\n");
    c.send(REGISTERED + "LS+ h\r\nPONG\r\n");
    await c.expect("PING\r\n");
    c.send("PONG\r\n");
    const hdr = "NATS/1.0\r\nA: b\r\n\r\n";
    await waitFor("live", () => (leaf.forward("h", undefined, hdr.length, b(hdr + "body"), null) ? true : undefined));
    await c.expect("LMSG h 4\r\nbody\r\n");
  });

  test("unanswered PINGs make the link stale; it is closed and redialed", async (t) => {
    const hub = await ScriptedHub.start(t);
    const { logs } = startLeaf(t, hub, { pingInterval: 30, pingMax: 2 });
    const c = await hub.conn(0);
    await c.line();
    c.send(REGISTERED + "PONG\r\n"); // and never a PONG again
    await hub.conn(1);
    const lost = logs.records().find((r) => r.msg === "upstream connection lost")!;
    assert.match(String(lost.error), /^Stale Connection/);
  });

  test("'Loop detected' delays the next attempt by 30 s, with the hub's words in the log", async (t) => {
    const hub = await ScriptedHub.start(t);
    const { leaf, logs } = startLeaf(t, hub);
    const c = await hub.conn(0);
    await c.line();
    const text = 'Loop detected for leafnode account="$G". Delaying attempt to reconnect for 30s';
    await c.expect("PING\r\n");
    c.send(REGISTERED + "PONG\r\n" + `-ERR '${text}'\r\n`);
    c.socket.end();
    const lost = await waitFor("loss logged", () => logs.records().find((r) => r.msg === "upstream connection lost"));
    assert.equal(lost.error, text);
    assert.equal(lost.retryInMs, 30_000);
    assert.equal(leaf.stats.lastError, text);
    assert.equal(leaf.connected, false);
  });

  test("a hub closing the link for a subscription: the subject is refused locally and the link comes back without it", async (t) => {
    const hub = await ScriptedHub.start(t);
    const snapshot = [{ subject: "ok.x", queue: undefined, weight: 1 }, { subject: "odd.secret", queue: undefined, weight: 1 }, { subject: "odd.secret", queue: "q", weight: 2 }];
    const { leaf, local, logs } = startLeaf(t, hub, { snapshot });
    const c = await hub.conn(0);
    await goLive(c);
    await c.expect("LS+ ok.x\r\nLS+ odd.secret\r\nLS+ odd.secret q 2\r\nPING\r\n");
    c.send('-ERR \'Permissions Violation for Subscription to "odd.secret"\'\r\n');
    c.socket.end();
    const c2 = await hub.conn(1);
    await goLive(c2);
    // The replay leaves the refused subject out, for every queue too.
    await c2.expect("LS+ ok.x\r\nPING\r\n");
    assert.deepEqual(local.refused, [{ subject: "odd.secret", queue: undefined }, { subject: "odd.secret", queue: "q" }]);
    assert.equal(leaf.refusesInterest("odd.secret"), true);
    assert.equal(leaf.stats.refusedInterest >= 1, true);
    const lost = logs.records().find((r) => r.msg === "upstream connection lost")!;
    assert.ok(Number(lost.retryInMs) <= 50, "reconnects at the base delay, not a growing backoff");
  });

  test("a hub closing the link for a publish: that subject is never sent to it again", async (t) => {
    const hub = await ScriptedHub.start(t);
    const { leaf } = startLeaf(t, hub);
    const c = await hub.conn(0);
    await goLive(c, "LS+ ops.>\r\n");
    await c.expect("PING\r\n");
    c.send("PONG\r\n");
    await waitFor("live", () => (leaf.live ? true : undefined));
    assert.equal(leaf.forward("ops.restart", undefined, -1, b("x"), null), true);
    await c.expect("LMSG ops.restart 1\r\nx\r\n");
    c.send('-ERR \'Permissions Violation for Publish to "ops.restart"\'\r\n');
    c.socket.end();
    const c2 = await hub.conn(1);
    await goLive(c2, "LS+ ops.>\r\n");
    await c2.expect("PING\r\n");
    c2.send("PONG\r\n");
    await waitFor("live again", () => (leaf.live ? true : undefined));
    assert.equal(leaf.forward("ops.restart", undefined, -1, b("y"), null), false, "refused subject: not sent");
    assert.equal(leaf.forward("ops.other", undefined, -1, b("z"), null), true);
    await c2.expect("LMSG ops.other 1\r\nz\r\n");
    assert.equal(leaf.stats.refusedPublishes, 2);
  });

  test("a refusal before registration is retried with backoff and never thrown", async (t) => {
    const hub = await ScriptedHub.start(t);
    const { logs } = startLeaf(t, hub);
    for (let i = 0; i < 3; i++) {
      const c = await hub.conn(i);
      await c.line();
      c.send("-ERR 'Authorization Violation'\r\n");
      c.socket.end();
    }
    const failures = await waitFor("three failures", () => {
      const f = logs.records().filter((r) => r.msg === "upstream connect failed");
      return f.length >= 3 ? f : undefined;
    });
    assert.deepEqual(failures.map((f) => f.error), ["Authorization Violation", "Authorization Violation", "Authorization Violation"]);
    assert.ok(failures.every((f) => typeof f.retryInMs === "number" && f.retryInMs >= 10 && f.retryInMs <= 50));
  });
});
