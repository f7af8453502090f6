/**
 * The audit log as an operator gets it: `aaa-leafnode run` (a child
 * process) with `audit_logfile` set writes one JSON line per connect, refusal,
 * permission violation and disconnect to that file, each with the connection
 * id, the remote address and the caller id (and the refusal code and reason,
 * the violation kind and subject, the close reason), and none of it goes to
 * the main log. No token ever appears in either log.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getPki } from "../helpers/pki.js";
import { rawConnect, type RawClient } from "../helpers/raw.js";
import { waitFor } from "../helpers/hub.js";
import { signNonce, tokenWorld, writeSignerFiles } from "../helpers/tokens.js";
import { spawnCli } from "../../src/devkit/cli_process.js";

type Rec = Record<string, unknown>;

function jsonLines(text: string): Rec[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Rec);
}

test("aaa-leafnode run writes connect, refusal, violation and disconnect as JSON lines to audit_logfile", async (t) => {
  const pki = await getPki();
  const world = tokenWorld();
  const dir = mkdtempSync(join(tmpdir(), "aaa-audit-e2e-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { publicKeyPath } = writeSignerFiles(world.signer, dir, "signer");
  const auditFile = join(dir, "audit.log");
  const conf = join(dir, "broker.conf");
  writeFileSync(conf, [
    "loglevel = info",
    "plugin.choria.network.listen_address = 127.0.0.1",
    "plugin.choria.network.client_port = 0",
    "plugin.security.provider = file",
    `plugin.security.file.certificate = ${pki.gateway.cert}`,
    `plugin.security.file.key = ${pki.gateway.key}`,
    `plugin.security.file.ca = ${pki.ca}`,
    `plugin.choria.network.client_signer_cert = ${publicKeyPath}`,
    `plugin.choria.network.aaa_leafnode.audit_logfile = ${auditFile}`,
    "plugin.choria.network.aaa_leafnode.soft_shutdown_timeout = 1s",
    "",
  ].join("\n"));

  const child = spawnCli(["run", "--config", conf], { timeoutMs: 30_000 });
  const raws: RawClient[] = [];
  t.after(async () => {
    for (const c of raws) c.close();
    if (child.process.exitCode === null) child.process.kill("SIGKILL");
    await child.done;
  });
  const started = await waitFor("gateway started", () => jsonLines(child.stderr()).find((r) => r.msg === "aaa-leafnode started"), 20_000);
  const port = Number(started.client_port);
  assert.ok(port > 0, `client port ${port}`);
  const open = async (): Promise<RawClient> => {
    const c = await rawConnect(port, pki.ca);
    raws.push(c);
    return c;
  };

  // A good caller who tries one forbidden publish and one forbidden subscription, then leaves.
  const token = world.mint({ callerid: "up=auditor", permissions: { fleet_management: true } });
  const good = await open();
  good.send(`CONNECT ${JSON.stringify({ verbose: false, auth_token: token, sig: signNonce(world.user.privateKey, String(good.info.nonce)) })}\r\n`);
  good.send("PUB secret.stuff 1\r\nx\r\nSUB choria.lifecycle.> q1 1\r\nPING\r\n");
  await good.expect(/PONG\r\n/);
  good.close();

  // An expired token.
  const now = Math.floor(Date.now() / 1000);
  const expired = world.mint({ callerid: "up=late", iat: now - 7200, exp: now - 3600 });
  const bad = await open();
  bad.send(`CONNECT ${JSON.stringify({ verbose: false, auth_token: expired, sig: signNonce(world.user.privateKey, String(bad.info.nonce)) })}\r\n`);
  await bad.expect(/-ERR 'Authorization Violation'\r\n/);
  await bad.closed;

  const goodCid = good.info.client_id;
  const badCid = bad.info.client_id;
  const ip = good.info.client_ip;
  await waitFor("audit lines on disk", () => {
    const recs = existsSync(auditFile) ? jsonLines(readFileSync(auditFile, "utf8")) : [];
    return recs.some((r) => r.audit === "disconnect" && r.cid === goodCid) && recs.some((r) => r.audit === "refused" && r.cid === badCid) ? true : undefined;
  });
  child.process.kill("SIGTERM");
  const exit = await child.done;
  assert.equal(exit.code, 0, exit.stderr);

  const text = readFileSync(auditFile, "utf8");
  const recs = jsonLines(text); // every line parses as JSON
  assert.ok(recs.every((r) => typeof r.audit === "string" && r.log === "audit" && typeof r.time === "string"), "audit records only");
  const pick = (r: Rec, keys: string[]): Rec => Object.fromEntries(keys.map((k) => [k, r[k]]));
  const goodRecs = recs.filter((r) => r.cid === goodCid);
  assert.deepEqual(
    goodRecs.map((r) => pick(r, ["audit", "remote", "callerId", "kind", "subject", "queue", "reason"])),
    [
      { audit: "connect", remote: ip, callerId: "up=auditor", kind: undefined, subject: undefined, queue: undefined, reason: undefined },
      { audit: "violation", remote: ip, callerId: "up=auditor", kind: "publish", subject: "secret.stuff", queue: undefined, reason: undefined },
      { audit: "violation", remote: ip, callerId: "up=auditor", kind: "subscribe", subject: "choria.lifecycle.>", queue: "q1", reason: undefined },
      { audit: "disconnect", remote: ip, callerId: "up=auditor", kind: undefined, subject: undefined, queue: undefined, reason: "client_closed" },
    ],
  );
  assert.equal(goodRecs[0]!.method, "aaa-jwt");
  assert.equal(goodRecs[3]!.inMsgs, 1);
  const badRecs = recs.filter((r) => r.cid === badCid);
  assert.equal(badRecs.length, 1, "a refused connection has exactly one line");
  assert.equal(badRecs[0]!.audit, "refused");
  assert.equal(badRecs[0]!.code, "GW_ERR_AUTH_EXPIRED");
  assert.match(String(badRecs[0]!.reason), /^token expired at \d{4}-/);
  assert.equal(badRecs[0]!.remote, ip);

  // The main log carries no audit events, and no log carries a token.
  const main = exit.stderr;
  assert.doesNotMatch(main, /"audit":"(connect|refused|violation|disconnect)"/);
  for (const secret of [token, expired]) {
    assert.ok(!text.includes(secret) && !main.includes(secret), "a token leaked into a log");
  }
});
