/**
 * docs/configuration.md is generated from the key table in config/keys.ts;
 * this keeps the file and the table from drifting apart, and checks the table
 * itself is consistent (unique keys, every field a real GatewayConfig field).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { IGNORED, KEYS, lookupKey, REFUSED, renderConfigurationDoc } from "../../../src/config/keys.js";
import { parseConfigText } from "../../../src/config/load.js";

const DOC = fileURLToPath(new URL("../../../../docs/configuration.md", import.meta.url));

test("docs/configuration.md matches the key table", () => {
  const expected = renderConfigurationDoc();
  const actual = readFileSync(DOC, "utf8");
  assert.equal(actual, expected,
    "docs/configuration.md is stale; regenerate: node -e 'import(\"./build/src/config/keys.js\").then(m=>process.stdout.write(m.renderConfigurationDoc()))' > docs/configuration.md");
  for (const k of [...KEYS, ...REFUSED, ...IGNORED]) assert.ok(actual.includes("`" + k.key), `${k.key} missing from the doc`);
});

test("every key is unique and classified as itself", () => {
  const seen = new Set<string>();
  for (const spec of KEYS) {
    assert.ok(!seen.has(spec.key), `duplicate ${spec.key}`);
    seen.add(spec.key);
    const found = lookupKey(spec.key.replace("<name>", "x"));
    assert.equal(found.kind, "known", spec.key);
    assert.ok(spec.meaning.length > 10 && spec.default.length > 0, spec.key);
  }
  for (const r of REFUSED) assert.equal(lookupKey(r.key.replace(/\*$/, "x")).kind, "refused", r.key);
  for (const r of IGNORED) assert.equal(lookupKey(r.key.replace(/\*$/, "x")).kind, "ignored", r.key);
});

test("every field named in the table exists in a loaded configuration", () => {
  const { config } = parseConfigText(
    "plugin.security.file.certificate = c\nplugin.security.file.key = k\nplugin.security.file.ca = a\n" +
    "plugin.choria.network.aaa_leafnode.authenticator = development\nlogfile = /tmp/x.log\n" +
    "plugin.choria.network.aaa_leafnode.audit_logfile = /tmp/a.log\nplugin.choria.network.websocket_advertise = wss://x:443\n" +
    "plugin.choria.network.leafnode_remotes = r\nplugin.choria.network.leafnode_remote.r.url = r:7422\n" +
    "plugin.choria.network.leafnode_remote.r.credentials = c\nplugin.choria.network.gateway_name = C\n",
    "t.conf", { checkFiles: false });
  for (const spec of KEYS) {
    if (spec.field === "") continue;
    const [head, ...rest] = spec.field.replace("leafRemotes[].", "leafRemotes.0.").split(".");
    let v: unknown = (config as unknown as Record<string, unknown>)[head!];
    for (const p of rest) v = (v as Record<string, unknown>)[p];
    assert.notEqual(v, undefined, `${spec.key} → ${spec.field}`);
  }
});
