// The version on the wire: clients see the hub's NATS version while the link is
// up (so nats.js enables Key-Value and the named consumer API), the gateway's own
// version stays in INFO aaa_leafnode_version and /varz, and the leafnode CONNECT
// states a version a hub with `leafnodes.min_version` accepts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Kvm } from "@nats-io/kv";
import { VERSION } from "../../src/version.js";
import { NATS_PROTOCOL_VERSION } from "../../src/nats_version.js";
import { startJsWorld } from "./js_world.js";

const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };

test("INFO states the hub's version; the gateway's own is a separate field, in /varz too", async (t) => {
  const w = await startJsWorld(t, { hub: { leafMinVersion: "2.9.0" } });
  const hubVersion = (await w.hub.varz())["version"] as string;
  assert.equal(w.g.gw.upstream!.hubVersion, hubVersion, "version learned from the hub's INFO");
  const user = w.caller("up=kv", { streams_user: true });
  const nc = await w.connect(user, "plain-inbox");
  assert.equal(nc.info?.version, hubVersion);
  assert.equal((nc.info as unknown as Record<string, unknown>)["aaa_leafnode_version"], pkg.version);
  assert.equal(VERSION, pkg.version);
  // nats.js refuses Key-Value below 2.6.2: with the package version (0.x) this threw.
  const hub = await w.hubClient();
  await new Kvm(hub).create("VERSIONED");
  const kv = await new Kvm(nc).open("VERSIONED");
  assert.equal((await kv.status()).bucket, "VERSIONED");
  const varz = (await (await fetch(`http://127.0.0.1:${w.g.gw.monitorPort}/varz`)).json()) as Record<string, unknown>;
  assert.equal(varz["version"], pkg.version);
  assert.equal(varz["nats_version"], hubVersion);
});

test("a hub with leafnodes.min_version accepts the leafnode CONNECT; standalone INFO states the protocol floor", async (t) => {
  const w = await startJsWorld(t, { hub: { leafMinVersion: NATS_PROTOCOL_VERSION } });
  assert.ok(w.g.gw.ready);
  assert.doesNotMatch(w.hub.logs(), /minimum version/);
  await w.hub.stop();
  const user = w.caller("up=floor", { streams_user: true });
  const nc = await w.connect(user, "choria-inbox");
  assert.equal(nc.info?.version, NATS_PROTOCOL_VERSION);
});
