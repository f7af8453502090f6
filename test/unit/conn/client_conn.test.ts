/**
 * The connection enforces what the caller policy decides, with nothing but an
 * in-memory transport and a real router: nothing before CONNECT, violations
 * answered with the nats-server text and audited while the connection stays
 * open, `_INBOX.` mapped both ways, lifecycle and foreign replies filtered on
 * delivery, reply confinement, and a reload that shrinks a live subscription.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConnState } from "../../../src/conn/client_conn.js";
import { CloseReasons } from "../../../src/conn/close_reason.js";
import { CallerSlots } from "../../../src/conn/caller_slots.js";
import { md5Hex } from "../../../src/auth/reply_namespace.js";
import { connWorld, settle } from "../../helpers/conn.js";
import { WsTransportError, WsViolation } from "../../../src/transport/ws_transport.js";

const A_MD5 = md5Hex("alice");
const B_MD5 = md5Hex("bob");

describe("what the transport is told, and how its failures are named", () => {
  const tooLarge = () => new WsTransportError("GW_ERR_WS_MESSAGE_TOO_LARGE", WsViolation.MessageTooLarge, 1009, "Max payload size exceeded");

  test("a WebSocket message over the limit before login counts as max_control_line (the TLS port's over-long CONNECT)", async () => {
    const w = connWorld();
    const { conn, t } = w.open();
    t.fail(tooLarge());
    await settle();
    assert.equal(conn.closedBecause, "max_control_line");
    assert.equal(w.ctx.counters.closeReasons.max_control_line, 1);
    assert.equal(t.loggedInCalls, 0);
  });

  test("the transport is told once when the caller logged in; a message over the limit after it counts as max_payload", async () => {
    const w = connWorld();
    const { conn, t } = await w.login("alice", { fleet_management: true });
    assert.equal(t.loggedInCalls, 1);
    t.fail(tooLarge());
    await settle();
    assert.equal(conn.closedBecause, "max_payload");
  });

  test("any other transport failure is a transport_error", async () => {
    const w = connWorld();
    const { conn, t } = w.open();
    t.fail(new Error("ECONNRESET"));
    await settle();
    assert.equal(conn.closedBecause, "transport_error");
  });
});

describe("ClientConn enforces the caller policy", () => {
  test("INFO first, any op before CONNECT is an Authorization Violation and a close", async () => {
    const w = connWorld();
    const { conn, t } = w.open();
    assert.match(t.take(), /^INFO \{.*"auth_required":true.*\} \r\n$/);
    t.send("SUB foo 1\r\n");
    await settle();
    assert.equal(t.take(), "-ERR 'Authorization Violation'\r\n");
    assert.equal(conn.state, ConnState.Closed);
    assert.equal(conn.closedBecause, "auth_violation");
    assert.equal(w.router.subscriptionCount, 0);
  });

  test("an unknown caller is refused; the reason goes to the audit log only", async () => {
    const w = connWorld();
    const { conn, t } = w.open();
    t.take();
    t.send('CONNECT {"user":"nobody"}\r\nPING\r\n');
    await settle();
    assert.equal(t.take(), "-ERR 'Authorization Violation'\r\n");
    assert.equal(conn.state, ConnState.Closed);
    const refused = w.audit.events.find((e) => e.event === "refused");
    assert.match(String(refused?.fields.reason), /unknown test caller/);
  });

  test("ops sent with CONNECT wait for authentication and then run in order", async () => {
    const w = connWorld();
    w.auth.callers.set("alice", { fleet_management: true });
    let release!: () => void;
    w.auth.hold = new Promise((r) => (release = r));
    const { conn, t } = w.open();
    t.take();
    t.send(`CONNECT {"user":"alice","verbose":false}\r\nSUB _INBOX.x 1\r\nPING\r\n`);
    await settle();
    assert.equal(conn.state, ConnState.Authenticating);
    assert.equal(t.take(), "");
    release();
    w.auth.hold = null;
    await settle();
    assert.equal(t.take(), "PONG\r\n");
    assert.equal(w.router.subscriptionCount, 1);
    conn.close(CloseReasons.ClientClosed);
  });

  test("a refused SUB gets the nats-server text, is audited and counted, and the connection stays open", async () => {
    const w = connWorld();
    const { conn, t } = await w.login("alice", { fleet_management: true });
    t.send("SUB choria.lifecycle.> 1\r\nSUB > 2\r\nSUB foo.* q 3\r\nSUB choria.reply.*.> 4\r\nPING\r\n");
    await settle();
    assert.equal(
      t.take(),
      [
        `-ERR 'Permissions Violation for Subscription to "choria.lifecycle.>"'`,
        `-ERR 'Permissions Violation for Subscription to ">"'`,
        `-ERR 'Permissions Violation for Subscription to "foo.*" using queue "q"'`,
        `-ERR 'Permissions Violation for Subscription to "choria.reply.*.>"'`,
        "PONG",
        "",
      ].join("\r\n"),
    );
    assert.equal(conn.state, ConnState.Open);
    assert.equal(w.router.subscriptionCount, 0);
    assert.equal(w.counters.violations.subscribe, 4);
    const v = w.audit.events.filter((e) => e.event === "violation");
    assert.deepEqual(v.map((e) => e.fields.subject), ["choria.lifecycle.>", ">", "foo.*", "choria.reply.*.>"]);
    assert.equal(v[2]!.fields.queue, "q");
  });

  test("a refused PUB is not routed", async () => {
    const w = connWorld();
    const spy = await w.login("spy", { org_admin: true });
    spy.t.send("SUB x.> 1\r\nPING\r\n");
    await settle();
    spy.t.take();
    const { t } = await w.login("alice", {});
    t.send("PUB x.y 2\r\nhi\r\nPUB _GR_.a.b 0\r\n\r\nPUB x.* 0\r\n\r\nPING\r\n");
    await settle();
    assert.equal(
      t.take(),
      `-ERR 'Permissions Violation for Publish to "x.y"'\r\n-ERR 'Permissions Violation for Publish to "_GR_.a.b"'\r\n-ERR 'Permissions Violation for Publish to "x.*"'\r\nPONG\r\n`,
    );
    assert.equal(spy.t.take(), "");
    assert.equal(w.counters.violations.publish, 3);
  });

  test("_INBOX. subscriptions and replies are mapped into the caller's namespace and back", async () => {
    const w = connWorld();
    const alice = await w.login("alice", { fleet_management: true });
    const server = await w.login("server", { org_admin: true });
    server.t.send("SUB choria.broadcast.agent.> 1\r\nPING\r\n");
    alice.t.send("SUB _INBOX.abc.* 7\r\nPING\r\n");
    await settle();
    server.t.take();
    alice.t.take();
    alice.t.send("PUB choria.broadcast.agent.rpcutil _INBOX.abc.1 4\r\nping\r\n");
    await settle();
    const seen = server.t.take();
    assert.equal(seen, `MSG choria.broadcast.agent.rpcutil 1 choria.reply.${A_MD5}._INBOX.abc.1 4\r\nping\r\n`);
    server.t.send(`PUB choria.reply.${A_MD5}._INBOX.abc.1 4\r\npong\r\n`);
    await settle();
    assert.equal(alice.t.take(), "MSG _INBOX.abc.1 7 4\r\npong\r\n");
    assert.equal(w.counters.rewrittenInboxes, 2);
  });

  test("the kept MSG line head follows the subject: repeats, changes, two subscriptions, reply and headers", async () => {
    // Deliveries on one subject reuse kept bytes of `<subject> <sid> ` (encode.ts MsgHead); any stale
    // head would show the client the wrong subject or sid here.
    const w = connWorld();
    const alice = await w.login("alice", { fleet_management: true });
    alice.t.send(`CONNECT {"headers":true,"verbose":false}\r\nSUB _INBOX.abc.* 7\r\nSUB _INBOX.abc.* 8\r\nPING\r\n`);
    await settle();
    alice.t.take();
    const ns = `choria.reply.${A_MD5}._INBOX.abc.`;
    const order = ["1", "1", "1", "2", "2", "1", "2", "3", "3", "3"];
    let want = "";
    for (const [k, id] of order.entries()) {
      const reply = k % 4 === 3 ? `reply.${k}` : undefined;
      const headers = k % 3 === 2;
      const payload = headers ? Buffer.from("NATS/1.0\r\n\r\nx") : Buffer.from("x");
      w.router.deliverFromUpstream(w.hub, ns + id, reply, null, headers ? 12 : -1, payload);
      for (const sid of ["7", "8"]) {
        const r = reply === undefined ? "" : `${reply} `;
        want += headers ? `HMSG _INBOX.abc.${id} ${sid} ${r}12 13\r\nNATS/1.0\r\n\r\nx\r\n` : `MSG _INBOX.abc.${id} ${sid} ${r}1\r\nx\r\n`;
      }
    }
    await settle();
    assert.equal(alice.t.take(), want);
  });

  test("replies outside the caller's namespace are refused, even for org_admin", async () => {
    const w = connWorld();
    const server = await w.login("server", { org_admin: true });
    server.t.send("SUB svc 1\r\nPING\r\n");
    await settle();
    server.t.take();
    const { conn, t } = await w.login("alice", { org_admin: true });
    const replies = [`choria.reply.${B_MD5}.1`, "choria.lifecycle.event.alive.x", "$JS.API.STREAM.DELETE.S", "$SYS.REQ.SERVER.PING", "_R_.a", "$JS.ACK.a", `choria.reply.${A_MD5}`];
    t.send(replies.map((r) => `PUB svc ${r} 1\r\nx\r\n`).join("") + `PUB svc choria.reply.${A_MD5}.ok 2\r\nok\r\nPING\r\n`);
    await settle();
    assert.equal(t.take(), replies.map((r) => `-ERR 'Permissions Violation for Publish with Reply of "${r}"'\r\n`).join("") + "PONG\r\n");
    assert.equal(server.t.take(), `MSG svc 1 choria.reply.${A_MD5}.ok 2\r\nok\r\n`, "only the confined request arrived");
    assert.equal(conn.state, ConnState.Open);
    assert.equal(w.counters.violations.reply, replies.length);
  });

  test("lifecycle events and other callers' replies never reach a subscriber", async () => {
    const w = connWorld();
    const watcher = await w.login("watcher", { org_admin: true });
    watcher.t.send("SUB ops.> 1\r\nSUB *.*.*.* 2\r\nSUB _INBOX.> 3\r\nPING\r\n");
    await settle();
    assert.equal(watcher.t.take(), `-ERR 'Permissions Violation for Subscription to "*.*.*.*"'\r\nPONG\r\n`);
    const pub = await w.login("pub", { org_admin: true });
    pub.t.send(`PUB ops.reply.${B_MD5}.1 1\r\nx\r\nPUB ops.status 2\r\nok\r\nPUB choria.reply.${B_MD5}._INBOX.x 1\r\nx\r\n`);
    w.router.deliverFromUpstream(w.hub, "choria.lifecycle.event.alive.n1", undefined, null, -1, Buffer.from("l"));
    w.router.deliverFromUpstream(w.hub, "_INBOX.hubclient", undefined, null, -1, Buffer.from("i"));
    await settle();
    assert.equal(watcher.t.take(), "MSG ops.status 1 2\r\nok\r\n");
  });

  test("a SUB every hub would refuse is refused like a permission and never reaches the router", async () => {
    const w = connWorld();
    w.hub.refused.add("$KV.x");
    const { conn, t } = await w.login("admin", { org_admin: true });
    t.send("SUB $KV.x 1\r\nSUB $KV.y 2\r\nPING\r\n");
    await settle();
    assert.equal(t.take(), `-ERR 'Permissions Violation for Subscription to "$KV.x"'\r\nPONG\r\n`);
    assert.equal(conn.state, ConnState.Open);
    assert.equal(w.router.subscriptionCount, 1);
    assert.equal(w.counters.violations.subscribe, 1);
  });

  test("a reload that no longer allows a live subscription closes the connection", async () => {
    const w = connWorld();
    const { conn, t } = await w.login("alice", { events_viewer: true });
    t.send("SUB choria.machine.watcher.> 1\r\nPING\r\n");
    await settle();
    assert.equal(t.take(), "PONG\r\n");
    const before = conn.identity!.policy;
    await conn.reauthenticate();
    assert.notEqual(conn.identity!.policy, before, "the policy is swapped as a whole");
    assert.equal(conn.state, ConnState.Open);
    w.auth.callers.set("alice", {});
    await conn.reauthenticate();
    assert.equal(conn.state, ConnState.Closed);
    assert.equal(conn.closedBecause, "permissions_revoked");
    assert.equal(w.router.subscriptionCount, 0);
  });
});

describe("connections per caller id", () => {
  test("the connection over the per-caller limit is refused with the nats-server text; others are unaffected", async () => {
    const w = connWorld();
    w.ctx.callerSlots = new CallerSlots(2);
    const a1 = await w.login("alice", {});
    const a2 = await w.login("alice", {});
    const a3 = await w.login("alice", {});
    const b1 = await w.login("bob", {});
    assert.equal(a1.conn.state, ConnState.Open);
    assert.equal(a2.conn.state, ConnState.Open);
    assert.equal(a3.t.take(), "-ERR 'maximum account active connections exceeded'\r\n");
    assert.equal(a3.conn.state, ConnState.Closed);
    assert.equal(a3.conn.closedBecause, "max_caller_connections");
    assert.equal(b1.conn.state, ConnState.Open, "another caller is not counted against alice");
    assert.ok(w.audit.events.some((e) => e.event === "refused" && e.fields.code === "GW_ERR_MAX_CALLER_CONNECTIONS"));
    // a slot comes back when a connection closes
    a1.conn.close(CloseReasons.ClientClosed);
    assert.equal(w.ctx.callerSlots.count("alice"), 1);
    const a4 = await w.login("alice", {});
    assert.equal(a4.conn.state, ConnState.Open);
    assert.equal(w.ctx.callerSlots.count("alice"), 2);
    for (const c of [a2, a4, b1]) c.conn.close(CloseReasons.ClientClosed);
    assert.equal(w.ctx.callerSlots.callers, 0);
  });
});
