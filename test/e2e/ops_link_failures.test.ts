/**
 * An operator's first hour, item 1: a link that fails says in words what
 * failed and which keys set it. `aaa-leafnode check --connect` (a child
 * process) dials real nats-server hubs with certificates made at test time,
 * one remote per way to fail: the hub refuses our certificate (signed by a CA
 * it does not trust, or expired), we refuse the hub's (an unknown CA, a host
 * name it was not issued for, expired), and the hub is down. Each gets one
 * line with the sentence, its code and the keys to change, never OpenSSL's raw
 * text, and the exit status is 1; with every remote fine it is 0. The running
 * gateway logs the same sentence.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSigner, writeSignerFiles } from "../../src/auth/mint.js";
import { runCli, type CliResult } from "../../src/devkit/cli_process.js";
import { gatewayConfText } from "../../src/devkit/world.js";
import { getPki, issueCert, type Pki } from "../helpers/pki.js";
import { startHub, waitFor, type Hub } from "../helpers/hub.js";
import { startGateway } from "../helpers/gateway.js";
import { closedPort } from "./link_down_world.js";

const R = "plugin.choria.network.leafnode_remote.";
const PAST = { startDate: "20200101000000Z", endDate: "20200102000000Z" };

/** broker.conf lines for one remote. */
function remote(name: string, url: string, tls: { cert?: string; key?: string; ca: string }): string[] {
  return [
    `${R}${name}.url = ${url}`,
    ...(tls.cert ? [`${R}${name}.tls.cert = ${tls.cert}`, `${R}${name}.tls.key = ${tls.key}`] : []),
    `${R}${name}.tls.ca = ${tls.ca}`,
  ];
}

describe("check --connect against hubs that fail in every way", () => {
  let dir: string;
  let pki: Pki;
  let base: string;
  const hubs: Hub[] = [];
  // No two remotes may share a URL (the hub would evict one link for the other): two good hubs, each dialled as 127.0.0.1 and as localhost.
  let hub: Hub, hub2: Hub, mismatchHub: Hub, expiredHub: Hub;
  let downPort: number;
  let expiredClient: { cert: string; key: string };
  let result: CliResult;

  /** The one stderr line about `name`. */
  const lineOf = (name: string): string => {
    const lines = result.stderr.split("\n").filter((l) => l.startsWith(`error: connect: remote "${name}" `));
    assert.equal(lines.length, 1, result.stderr);
    return lines[0]!;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "aaa-link-failures-"));
    pki = await getPki();
    const signer = writeSignerFiles(createSigner("ed25519"), dir, "signer").publicKeyPath;
    base = gatewayConfText({ dir, pki, signers: [signer] });
    const [elsewhere, expiredServer, expired] = await Promise.all([
      issueCert(pki, "elsewhere-hub", { san: "DNS:elsewhere.test", usage: "server" }),
      issueCert(pki, "expired-hub", { san: "IP:127.0.0.1,DNS:localhost", usage: "server", ...PAST }),
      issueCert(pki, "expired-leaf", { san: "DNS:expired-leaf.test", usage: "client", ...PAST }),
    ]);
    expiredClient = expired;
    [hub, hub2, mismatchHub, expiredHub] = await Promise.all([
      startHub({ pki }), startHub({ pki }), startHub({ pki: { ...pki, hub: elsewhere } }), startHub({ pki: { ...pki, hub: expiredServer } }),
    ]);
    hubs.push(hub, hub2, mismatchHub, expiredHub);
    downPort = await closedPort();

    const leaf = { cert: pki.leaf.cert, key: pki.leaf.key, ca: pki.ca };
    const names = ["fine", "theyrefuse", "ourexpired", "werefuse", "mismatch", "hubexpired", "down"];
    const file = join(dir, "broker.conf");
    writeFileSync(file, base + [
      `plugin.choria.network.leafnode_remotes = ${names.join(", ")}`,
      ...remote("fine", hub.leafUrl, leaf),
      ...remote("theyrefuse", `tls://localhost:${hub.leafPort}`, { cert: pki.untrustedClient.cert, key: pki.untrustedClient.key, ca: pki.ca }),
      ...remote("ourexpired", hub2.leafUrl, { ...expiredClient, ca: pki.ca }),
      ...remote("werefuse", `tls://localhost:${hub2.leafPort}`, { ...leaf, ca: pki.untrustedCa }),
      ...remote("mismatch", mismatchHub.leafUrl, leaf),
      ...remote("hubexpired", expiredHub.leafUrl, leaf),
      ...remote("down", `tls://127.0.0.1:${downPort}`, leaf),
    ].join("\n") + "\n");
    result = await runCli(["check", "--config", file, "--connect"]);
  });
  after(async () => {
    await Promise.all(hubs.map((h) => h.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  test("exit 1; the good remote connected; one line per failed URL; never OpenSSL's raw text", () => {
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, new RegExp(`^connect: remote "fine" 127\\.0\\.0\\.1:${hub.leafPort}: connected: the hub ${hub.serverName} \\(nats-server 2\\.9\\.10\\) registered us$`, "m"));
    assert.match(result.stdout, /^connect: 1 of 7 hub URLs connected$/m);
    assert.equal(result.stderr.split("\n").filter((l) => l.startsWith("error: connect:")).length, 6, result.stderr);
    assert.doesNotMatch(result.stderr, /SSL routines|error:0A0|rec_layer|alert number/);
  });

  test("the hub refuses our certificate (another CA signed it): says so, names our file and its keys", () => {
    const line = lineOf("theyrefuse");
    assert.ok(line.includes(`the hub at localhost:${hub.leafPort} refused our client certificate ${pki.untrustedClient.cert} (TLS alert "bad certificate")`), line);
    assert.ok(line.includes(`${R}theyrefuse.tls.cert and ${R}theyrefuse.tls.key, or plugin.security.file.certificate and plugin.security.file.key`), line);
    assert.match(line, /\[GW_ERR_UPSTREAM_HUB_REFUSED_OUR_CERT\]$/);
  });

  test("our certificate expired: the hub refuses it, and the line says it expired and when", () => {
    const line = lineOf("ourexpired");
    assert.ok(line.includes(`refused our client certificate ${expiredClient.cert} (TLS alert "bad certificate"): it expired on Jan  2 00:00:00 2020 GMT; renew it`), line);
    assert.ok(line.includes(`${R}ourexpired.tls.cert`), line);
    assert.match(line, /\[GW_ERR_UPSTREAM_OUR_CERT_EXPIRED\]$/);
  });

  test("we refuse the hub's certificate (unknown CA): names our CA file and its keys", () => {
    const line = lineOf("werefuse");
    assert.ok(line.includes(`we refused the hub's certificate at localhost:${hub2.leafPort}: it is not signed by a CA in the CA file ${pki.untrustedCa}`), line);
    assert.ok(line.includes(`${R}werefuse.tls.ca, or plugin.security.file.ca when that is unset`), line);
    assert.match(line, /\[GW_ERR_UPSTREAM_HUB_CERT_UNTRUSTED\]$/);
  });

  test("host name mismatch: the names the certificate carries and the URL key", () => {
    const line = lineOf("mismatch");
    assert.ok(line.includes(`we refused the hub's certificate at 127.0.0.1:${mismatchHub.leafPort}: it is not issued for the host name "127.0.0.1" (it names DNS:elsewhere.test)`), line);
    assert.ok(line.includes(`${R}mismatch.url`), line);
    assert.match(line, /\[GW_ERR_UPSTREAM_HUB_NAME_MISMATCH\]$/);
  });

  test("the hub's certificate expired: says so, and that the hub must renew it", () => {
    const line = lineOf("hubexpired");
    assert.ok(line.includes(`we refused the hub's certificate at 127.0.0.1:${expiredHub.leafPort}: it has expired; the hub's operator must renew`), line);
    assert.ok(line.includes(`${R}hubexpired.tls.verify = false would accept it, for testing only`), line);
    assert.match(line, /\[GW_ERR_UPSTREAM_HUB_CERT_EXPIRED\]$/);
  });

  test("the hub is down: connection refused, with the URL key", () => {
    const line = lineOf("down");
    assert.ok(line.includes(`nothing accepts connections at 127.0.0.1:${downPort} (connection refused): the hub is down, or ${R}down.url names the wrong host or port`), line);
    assert.match(line, /\[GW_ERR_UPSTREAM_CONNECT_REFUSED\]$/);
  });

  test("every remote fine: exit 0", async () => {
    const file = join(dir, "fine.conf");
    writeFileSync(file, base + [`plugin.choria.network.leafnode_remotes = fine`, ...remote("fine", hub.leafUrl, { cert: pki.leaf.cert, key: pki.leaf.key, ca: pki.ca })].join("\n") + "\n");
    const r = await runCli(["check", "--config", file, "--connect"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^connect: 1 of 1 hub URL connected$/m);
  });

  test("the running gateway logs the same sentence, not OpenSSL's text", async (t) => {
    const g = await startGateway(pki, [
      "plugin.choria.network.leafnode_remotes = theyrefuse",
      ...remote("theyrefuse", hub.leafUrl, { cert: pki.untrustedClient.cert, key: pki.untrustedClient.key, ca: pki.ca }),
      "plugin.choria.network.aaa_leafnode.reconnect_delay = 100ms",
    ], { development: true });
    t.after(() => g.stop());
    const failed = await waitFor("a failed attempt logged", () => g.logs.records().find((r) => r.msg === "upstream connect failed" || r.msg === "upstream connection lost"));
    assert.ok(String(failed.error).startsWith(`the hub at 127.0.0.1:${hub.leafPort} refused our client certificate ${pki.untrustedClient.cert}`), String(failed.error));
    assert.equal(failed.code, "GW_ERR_UPSTREAM_HUB_REFUSED_OUR_CERT");
    assert.doesNotMatch(String(failed.error), /SSL routines/);
    // OpenSSL's words stay available for whoever reads the log closely.
    assert.match(String(failed.detail), /alert bad certificate/);
  });
});
