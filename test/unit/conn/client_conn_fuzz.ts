/**
 * Property-based fuzzing of a whole client connection (fast-check), shared by
 * the CI test (client_conn_fuzz.test.ts) and the longer run
 * (`node build/test/fuzz/client_conn.js <count>`). Each input is a byte stream
 * of ops that hit every rule (lifecycle, both callers' namespaces, inboxes,
 * wildcards, reserved replies, foreign protocol, garbage), split at random
 * offsets, fed to one ClientConn over an in-memory transport while a second
 * caller listens and the hub side delivers random subjects. For each input:
 *   - no exception escapes;
 *   - the connection is open (or still waiting for CONNECT), or closed with a
 *     named close reason;
 *   - it holds no more subscriptions and verdicts than its bounds;
 *   - neither caller ever receives a lifecycle event or the other's replies.
 */
import fc from "fast-check";
import { ConnState } from "../../../src/conn/client_conn.js";
import { CloseReasons } from "../../../src/conn/close_reason.js";
import type { AuditLog } from "../../../src/obs/audit.js";
import { md5Hex, sha256Hex } from "../../../src/auth/reply_namespace.js";
import { connWorld, type FakeTransport } from "../../helpers/conn.js";

const A = md5Hex("alice");
const B = md5Hex("bob");
const B_SHA = sha256Hex("bob");
export const FUZZ_MAX_SUBS = 8;
const LABELS = new Set(Object.values(CloseReasons).map((r) => r.label));

const quiet: AuditLog = { connect() {}, refused() {}, violation() {}, disconnect() {} };
const world = connWorld({ maxSubscriptions: FUZZ_MAX_SUBS, maxControlLine: 256, maxPayload: 512 });
world.ctx.audit = quiet;
world.auth.callers.set("bob", { org_admin: true });

const subject = fc.oneof(
  fc.constantFrom(
    "choria.lifecycle.event.alive.x", "choria.lifecycle.>", ">", "*.>", "choria.>", "*.lifecycle.*.*.*",
    `choria.reply.${B}.1`, `choria.reply.${B}.>`, `ops.reply.${B}.x`, `choria.reply.${B_SHA}._INBOX.z`, `choria.reply.${A}.1`, `choria.reply.${A}.>`,
    "choria.reply.*.>", "_INBOX.a", "_INBOX.>", "_INBOX", "ops.>", "ops.x", "ops.*", "$JS.API.INFO", "$JS.ACK.s.c.1", "_R_.x", "_GR_.x.y",
    "choria.broadcast.agent.rpcutil", "a..b", "a.>.b", "",
  ),
  fc.stringMatching(/^[a-z*>._]{1,12}$/),
);
const body = fc.string({ maxLength: 40 });
const sid = fc.constantFrom("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "x");

const op: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(subject, fc.option(subject), body).map(([s, r, b]) => `PUB ${s}${r === null ? "" : " " + r} ${b.length}\r\n${b}\r\n`),
  fc.tuple(subject, body).map(([s, b]) => `HPUB ${s} 12 ${12 + b.length}\r\nNATS/1.0\r\n\r\n${b}\r\n`),
  fc.tuple(subject, fc.option(fc.constantFrom("q", "g")), sid).map(([s, q, i]) => `SUB ${s}${q === null ? "" : " " + q} ${i}\r\n`),
  fc.tuple(sid, fc.option(fc.nat(3))).map(([i, m]) => `UNSUB ${i}${m === null ? "" : " " + m}\r\n`),
  fc.constantFrom("PING\r\n", "PONG\r\n", "+OK\r\n", "-ERR 'x'\r\n", 'CONNECT {"user":"alice"}\r\n', "RS+ a b\r\n", "LS+ a\r\n", "LMSG a 1\r\nx\r\n", "A+ x\r\n", "INFO {}\r\n"),
  fc.string({ maxLength: 30 }),
  fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b).toString("latin1")),
);

const hubSubject = fc.constantFrom(
  "choria.lifecycle.event.alive.n1", `choria.reply.${A}.1`, `choria.reply.${A}._INBOX.a`, `choria.reply.${B}.1`, `choria.reply.${B}._INBOX.a`,
  `ops.reply.${B}.9`, `ops.reply.${A}.9`, "_INBOX.a", "ops.x", "ops.reply", "choria.broadcast.agent.rpcutil",
);

export const connInput = fc.record({
  flags: fc.constantFrom({}, { org_admin: true }, { fleet_management: true }, { streams_user: true }, { events_viewer: true }),
  connect: fc.boolean(),
  ops: fc.array(op, { maxLength: 30 }),
  splits: fc.array(fc.nat(2000), { maxLength: 6 }),
  hub: fc.array(hubSubject, { maxLength: 4 }),
});

/** Subjects of every MSG/HMSG the transport was sent. */
function delivered(t: FakeTransport): string[] {
  const out: string[] = [];
  for (const m of t.written.matchAll(/(?:^|\n)H?MSG (\S+) /g)) out.push(m[1]!);
  return out;
}

function assertNeverReceived(who: string, t: FakeTransport, foreign: string[]): void {
  for (const s of delivered(t)) {
    if (s.startsWith("choria.lifecycle.")) throw new Error(`${who} received lifecycle event ${s}`);
    for (const h of foreign) if (s.split(".")[2] === h && s.split(".")[1] === "reply") throw new Error(`${who} received ${s}`);
  }
}

let bob: Awaited<ReturnType<typeof world.login>> | null = null;

export const connProperty = fc.asyncProperty(connInput, async (input) => {
  if (bob === null || bob.conn.state !== ConnState.Open) {
    bob = await world.login("bob", { org_admin: true });
    bob.t.send("SUB _INBOX.> 1\r\nSUB ops.> 2\r\nSUB choria.broadcast.> 3\r\n");
  }
  bob.t.take();
  const baseline = world.router.subscriptionCount;
  world.auth.callers.set("alice", input.flags);
  const { conn, t } = world.open();
  const stream = Buffer.from((input.connect ? 'CONNECT {"user":"alice","headers":true,"verbose":false}\r\n' : "") + input.ops.join(""), "latin1");
  const cuts = [...new Set(input.splits.map((s) => s % (stream.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    if (cut > from) t.send(stream.subarray(from, cut));
    from = Math.max(from, cut);
  }
  await new Promise<void>((r) => setImmediate(r));
  for (const s of input.hub) world.router.deliverFromUpstream(world.hub, s, undefined, null, -1, Buffer.from("h"));
  await new Promise<void>((r) => setImmediate(r));

  if (conn.state === ConnState.Closed) {
    if (!LABELS.has(conn.closedBecause ?? "")) throw new Error(`closed without a named reason: ${conn.closedBecause}`);
  } else if (conn.state !== ConnState.Open && conn.state !== ConnState.AwaitConnect) {
    throw new Error(`left in state ${conn.state}`);
  }
  if (conn.subscriptionCount > FUZZ_MAX_SUBS) throw new Error(`${conn.subscriptionCount} subscriptions`);
  if (conn.identity && conn.identity.policy.cachedVerdicts > 256) throw new Error("verdict caches past their bound");
  assertNeverReceived("alice", t, [B, B_SHA]);
  assertNeverReceived("bob", bob.t, [A, sha256Hex("alice")]);
  conn.close(CloseReasons.ClientClosed);
  if (world.router.subscriptionCount !== baseline) throw new Error("subscriptions left behind after close");
});

/** Close the listening caller (so a test run can end). */
export function closeFuzzWorld(): void {
  bob?.conn.close(CloseReasons.ClientClosed);
  bob = null;
}
