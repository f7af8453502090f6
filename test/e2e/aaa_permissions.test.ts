/**
 * The permission matrix through the wire: for every Choria client
 * permission flag (no flags, fleet_management, signed_fleet_management,
 * streams_user, streams_admin, events_viewer, election_user, governor alone
 * and with streams_user, org_admin) and for token pub_subjects/sub_subjects,
 * one caller on a raw TLS connection publishes and subscribes to subjects the
 * shipped policies allow and deny. Denials must be the exact nats-server
 * `-ERR` texts with the connection left open; allowed publishes must reach an
 * org_admin observer and denied ones must not; allowed subscriptions must
 * receive what the observer sends; every violation is in the audit log with
 * the caller id and remote address. One gateway, one connection per row.
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
import { createEd25519KeyPair, signNonce, tokenWorld, writeSignerFiles, type ClientTokenSpec, type TokenWorld } from "../helpers/tokens.js";
import { md5Hex, sha256Hex } from "../../src/auth/reply_namespace.js";
import type { ClientPermissionFlags } from "../../src/auth/types.js";
import type { LogFields } from "../../src/obs/log.js";

/** An allowed subscription and a literal subject the observer publishes to prove it delivers. */
interface AllowedSub {
  subject: string;
  sample: string;
  /** The subject the caller sees in MSG (differs only for rewritten `_INBOX.` subscriptions). */
  shown?: string;
}

interface MatrixRow {
  name: string;
  permissions?: ClientPermissionFlags;
  pubSubjects?: string[];
  subSubjects?: string[];
  pubAllow: string[];
  pubDeny: string[];
  subAllow: AllowedSub[];
  /** A subject, or [subject, queue] for a queue subscription. */
  subDeny: (string | [string, string])[];
}

// `{md5}` / `{sha}` stand for the row caller's reply-namespace hashes.
const MATRIX: MatrixRow[] = [
  {
    name: "no permission flags (minimal)",
    pubAllow: ["$SYS.REQ.USER.INFO"],
    pubDeny: ["choria.broadcast.agent.rpcutil", "choria.node.n1.example.net"],
    subAllow: [
      { subject: "choria.reply.{md5}.>", sample: "choria.reply.{md5}.req1" },
      { subject: "choria.reply.{sha}.>", sample: "choria.reply.{sha}.req2" },
    ],
    subDeny: ["choria.broadcast.agent.>", ["choria.reply.>", "workers"], "choria.reply.0123456789abcdef0123456789abcdef.>"],
  },
  {
    name: "no permission flags: _INBOX.> is accepted as the caller's own namespace, bare _INBOX subjects are not",
    pubAllow: ["$SYS.REQ.USER.INFO"],
    pubDeny: ["_INBOX.abc"],
    subAllow: [{ subject: "_INBOX.>", sample: "choria.reply.{md5}._INBOX.abc.1", shown: "_INBOX.abc.1" }],
    subDeny: ["_INBOX", "choria.reply.{md5}"],
  },
  {
    name: "fleet_management",
    permissions: { fleet_management: true },
    pubAllow: ["choria.broadcast.agent.rpcutil", "choria.broadcast.service.backup", "choria.node.n1.example.net", "choria.federation.eu.federation"],
    pubDeny: ["$JS.API.INFO", "choria.lifecycle.event.alive.server"],
    subAllow: [{ subject: "choria.reply.{md5}.>", sample: "choria.reply.{md5}.req" }],
    subDeny: ["choria.broadcast.agent.>", "choria.node.>"],
  },
  {
    name: "signed_fleet_management",
    permissions: { signed_fleet_management: true },
    pubAllow: ["mcollective.broadcast.agent.puppet", "mcollective.node.n2.example.net"],
    pubDeny: ["$KV.CHORIA_LEADER_ELECTION.x", "choria.federation.eu.collective"],
    subAllow: [{ subject: "mcollective.reply.{md5}.>", sample: "mcollective.reply.{md5}.req" }],
    subDeny: ["mcollective.broadcast.agent.>"],
  },
  {
    name: "streams_user",
    permissions: { streams_user: true },
    pubAllow: ["$JS.API.STREAM.INFO.ORDERS", "$KV.CONFIG.key", "$JS.API.CONSUMER.MSG.NEXT.ORDERS.c1"],
    pubDeny: ["$JS.API.STREAM.CREATE.ORDERS", "$JS.API.STREAM.DELETE.ORDERS"],
    subAllow: [{ subject: "choria.republish.>", sample: "choria.republish.orders.new" }],
    subDeny: ["$JS.EVENT.>", "other.republish.>"],
  },
  {
    name: "streams_admin",
    permissions: { streams_admin: true },
    pubAllow: ["$JS.API.STREAM.CREATE.ORDERS", "$JS.API.STREAM.DELETE.ORDERS"],
    pubDeny: ["choria.broadcast.agent.rpcutil", "$KV.CONFIG.key"],
    subAllow: [{ subject: "$JS.EVENT.>", sample: "$JS.EVENT.ADVISORY.API" }],
    subDeny: ["choria.republish.>"],
  },
  {
    name: "events_viewer",
    permissions: { events_viewer: true },
    pubAllow: ["$SYS.REQ.USER.INFO"],
    pubDeny: ["choria.machine.transition"],
    subAllow: [
      { subject: "choria.machine.watcher.>", sample: "choria.machine.watcher.nagios.state" },
      { subject: "choria.machine.transition", sample: "choria.machine.transition" },
    ],
    // The lifecycle grant Choria gives events viewers is overruled by the hard restriction.
    subDeny: ["choria.lifecycle.event.>", "choria.lifecycle.>", "choria.machine.>"],
  },
  {
    name: "election_user",
    permissions: { election_user: true },
    pubAllow: ["$KV.CHORIA_LEADER_ELECTION.scheduler", "$JS.API.STREAM.INFO.KV_CHORIA_LEADER_ELECTION"],
    pubDeny: ["$KV.OTHER.x", "$JS.API.STREAM.INFO.KV_OTHER"],
    subAllow: [{ subject: "choria.reply.{md5}.>", sample: "choria.reply.{md5}.kv" }],
    subDeny: ["$KV.CHORIA_LEADER_ELECTION.>"],
  },
  {
    name: "governor without streams_user grants nothing extra",
    permissions: { governor: true },
    pubAllow: ["$SYS.REQ.USER.INFO"],
    pubDeny: ["choria.governor.g1", "choria.lifecycle.event.governor.g1"],
    subAllow: [{ subject: "choria.reply.{md5}.>", sample: "choria.reply.{md5}.g" }],
    subDeny: ["choria.governor.*"],
  },
  {
    name: "governor + streams_user",
    permissions: { governor: true, streams_user: true },
    pubAllow: ["choria.governor.g1", "choria.lifecycle.event.governor.g1", "$KV.CONFIG.key"],
    pubDeny: ["choria.lifecycle.event.alive.server", "choria.governor.g1.extra"],
    subAllow: [{ subject: "choria.republish.>", sample: "choria.republish.x" }],
    subDeny: ["choria.lifecycle.event.governor.>", "choria.governor.*"],
  },
  {
    name: "org_admin (everything but the hard restrictions)",
    permissions: { org_admin: true },
    pubAllow: ["anything.at.all", "choria.broadcast.agent.rpcutil", "$JS.API.STREAM.CREATE.X"],
    // A wildcard or reserved subject is never published, whatever the grants.
    pubDeny: ["anything.*", "_GR_.a.b"],
    subAllow: [
      { subject: "anything.>", sample: "anything.x.y" },
      { subject: "choria.broadcast.>", sample: "choria.broadcast.agent.rpcutil" },
    ],
    subDeny: [">", "choria.>", "choria.lifecycle.>", "choria.reply.>", "*.reply.*.>", ["choria.reply.*.>", "snoopers"]],
  },
  {
    name: "token pub_subjects / sub_subjects",
    pubSubjects: ["ops.>"],
    subSubjects: ["ops.events.>"],
    pubAllow: ["ops.deploy.web"],
    pubDeny: ["opsx.deploy", "choria.broadcast.agent.rpcutil"],
    subAllow: [{ subject: "ops.events.>", sample: "ops.events.deployed" }],
    subDeny: ["ops.>", "ops.deploy.>"],
  },
  {
    name: "token sub_subjects cannot lift the hard restrictions",
    subSubjects: [">", "choria.lifecycle.>", "choria.reply.>"],
    pubAllow: ["$SYS.REQ.USER.INFO"],
    pubDeny: ["choria.lifecycle.event.alive.server"],
    subAllow: [{ subject: "choria.broadcast.agent.>", sample: "choria.broadcast.agent.rpcutil" }],
    subDeny: ["choria.lifecycle.>", "choria.lifecycle.event.alive.server", "choria.reply.>", "*.*.*.*.*", ">"],
  },
];

describe("permission matrix through the wire (one gateway, one connection per row)", () => {
  let pki: Pki;
  let world: TokenWorld;
  let g: TestGateway;
  let dir: string;
  let observer: RawClient;
  let observerSid = 0;
  const clients: RawClient[] = [];

  /** A raw TLS connection logged in with `spec`'s token, the nonce signed; ready after PONG. */
  const login = async (spec: ClientTokenSpec): Promise<RawClient> => {
    const key = createEd25519KeyPair();
    const c = await rawConnect(g.gw.clientPort, pki.ca);
    clients.push(c);
    const token = world.mint({ ...spec, publicKey: key.publicHex });
    const sig = signNonce(key.privateKey, String(c.info.nonce));
    c.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: true, protocol: 1, auth_token: token, sig })}\r\nPING\r\n`);
    assert.equal(await c.expect(/\r\n/), "PONG\r\n", `${spec.callerid} logged in`);
    return c;
  };
  const audit = (kind: string, cid: unknown): LogFields[] => g.audit.records().filter((r) => r.audit === kind && r.cid === cid);

  before(async () => {
    pki = await getPki();
    world = tokenWorld();
    dir = mkdtempSync(join(tmpdir(), "aaa-perm-e2e-"));
    const { publicKeyPath } = writeSignerFiles(world.signer, dir, "signer");
    g = await startGateway(pki, [
      `plugin.choria.network.client_signer_cert = ${publicKeyPath}`,
      // Gateway.stop() leaves a timer of this length running; keep it short so the file ends promptly.
      "plugin.choria.network.aaa_leafnode.soft_shutdown_timeout = 1s",
    ]);
    observer = await login({ callerid: "up=observer", permissions: { org_admin: true } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await g.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  MATRIX.forEach((row, i) => {
    test(row.name, async () => {
      const callerId = `up=matrix-${i}`;
      const fill = (s: string): string => s.replaceAll("{md5}", md5Hex(callerId)).replaceAll("{sha}", sha256Hex(callerId));
      const c = await login({ callerid: callerId, permissions: row.permissions, pubSubjects: row.pubSubjects, subSubjects: row.subSubjects });
      const pubAllow = row.pubAllow.map(fill);
      const pubDeny = row.pubDeny.map(fill);
      const subAllow = row.subAllow.map((s) => ({ subject: fill(s.subject), sample: fill(s.sample), shown: fill(s.shown ?? s.sample) }));
      const subDeny = row.subDeny.map((s) => (typeof s === "string" ? { subject: fill(s), queue: undefined } : { subject: fill(s[0]), queue: s[1] }));

      // The observer listens on every published subject it may subscribe to (lifecycle subjects it may not).
      const watched = [...pubAllow, ...pubDeny].filter((s) => !s.startsWith("choria.lifecycle."));
      const sids = watched.map((s) => ({ subject: s, sid: `o${++observerSid}` }));
      observer.send(sids.map((w) => `SUB ${w.subject} ${w.sid}\r\n`).join("") + "PING\r\n");
      assert.equal(await observer.expect(/\r\n/), "PONG\r\n", "observer subscriptions accepted");

      // Allowed and denied operations, then a PING: exactly the denials, in order, then PONG.
      // The body is an empty JSON object: the gateway reads the JetStream API bodies it checks and
      // refuses one it cannot read, so a permission row must not fail on its body.
      let ops = "";
      for (const s of [...pubAllow, ...pubDeny]) ops += `PUB ${s} 2\r\n{}\r\n`;
      subAllow.forEach((s, k) => (ops += `SUB ${s.subject} ${k + 1}\r\n`));
      subDeny.forEach((s, k) => (ops += `SUB ${s.subject}${s.queue ? ` ${s.queue}` : ""} ${100 + k}\r\n`));
      c.send(ops + "PING\r\n");
      const denials =
        pubDeny.map((s) => `-ERR 'Permissions Violation for Publish to "${s}"'\r\n`).join("") +
        subDeny
          .map((s) => `-ERR 'Permissions Violation for Subscription to "${s.subject}"${s.queue ? ` using queue "${s.queue}"` : ""}'\r\n`)
          .join("");
      assert.equal(await c.expect(/PONG\r\n/), denials + "PONG\r\n");
      assert.equal(c.isClosed(), false, "violations leave the connection open");

      // The observer got each allowed publish and none of the denied ones.
      observer.send("PING\r\n");
      const expectedAtObserver = sids
        .filter((w) => pubAllow.includes(w.subject))
        .map((w) => `MSG ${w.subject} ${w.sid} 2\r\n{}\r\n`)
        .join("");
      assert.equal(await observer.expect(/PONG\r\n/), expectedAtObserver + "PONG\r\n");
      observer.send(sids.map((w) => `UNSUB ${w.sid}\r\n`).join(""));

      // Each allowed subscription delivers (an `_INBOX.` one with the subject mapped back).
      observer.send(subAllow.map((s) => `PUB ${s.sample} 4\r\nping\r\n`).join("") + "PING\r\n");
      await observer.expect(/^PONG\r\n$/);
      c.send("PING\r\n");
      const deliveries = subAllow.map((s, k) => `MSG ${s.shown} ${k + 1} 4\r\nping\r\n`).join("");
      assert.equal(await c.expect(/PONG\r\n/), deliveries + "PONG\r\n");

      // Audit: one connect with the caller id, one violation per denial (kind, subject, queue), remote address on each.
      const cid = c.info.client_id;
      const [connected] = audit("connect", cid);
      assert.equal(connected?.callerId, callerId);
      assert.equal(connected?.remote, c.info.client_ip);
      const violations = audit("violation", cid).map((r) => ({ kind: r.kind, subject: r.subject, queue: r.queue, callerId: r.callerId, remote: r.remote }));
      assert.deepEqual(violations, [
        ...pubDeny.map((s) => ({ kind: "publish", subject: s, queue: undefined, callerId, remote: c.info.client_ip })),
        ...subDeny.map((s) => ({ kind: "subscribe", subject: s.subject, queue: s.queue, callerId, remote: c.info.client_ip })),
      ]);
      c.close();
      const gone = await waitFor(`disconnect audit of ${callerId}`, () => audit("disconnect", cid)[0]);
      assert.equal(gone.callerId, callerId);
      assert.equal(gone.reason, "client_closed");
      assert.equal(gone.inMsgs, pubAllow.length + pubDeny.length, "every PUB counted, allowed or not");
      assert.equal(gone.outMsgs, subAllow.length);
    });
  });
});
