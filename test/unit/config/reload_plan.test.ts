/**
 * The reload plan (config/reload.ts) as a pure function: for any running and
 * new configuration it names exactly the keys whose effective value differs,
 * each with its class from the key table, and the planned configuration takes
 * every changed `live` or `new connections` value from the new file while
 * every changed `restart` value keeps its running one (the upstream remote
 * list as a whole).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseConfigText } from "../../../src/config/load.js";
import { lookupKey } from "../../../src/config/keys.js";
import { planReload } from "../../../src/config/reload.js";

const N = "plugin.choria.network.";
const A = `${N}aaa_leafnode.`;

/** Keys with a few values each, across the three classes and the upstream remote. */
const CHOICES: Record<string, string[]> = {
  loglevel: ["info", "debug"],
  [`${A}max_subscriptions`]: ["10", "20"],
  [`${A}ping_max`]: ["2", "5"],
  [`${A}clock_skew`]: ["5s", "1m"],
  [`${A}ping_interval`]: ["2m", "30s"],
  [`${N}auth_timeout`]: ["2s", "5s"],
  "plugin.security.cipher_suites": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"],
  [`${N}client_port`]: ["4222", "4333"],
  identity: ["gw1", "gw2"],
  [`${A}max_payload`]: ["1MiB", "2MiB"],
  [`${N}leafnode_remote.hub.url`]: ["nats://a:7422", "nats://b:7422"],
  [`${A}upstream_buffer_size`]: ["8MiB", "4MiB"],
};
const KEYS = Object.keys(CHOICES);

function load(picks: number[]) {
  const lines = [
    "plugin.security.file.certificate = /c.pem",
    "plugin.security.file.key = /k.pem",
    `${N}client_signer_cert = ${"a".repeat(64)}`,
    `${N}leafnode_remotes = hub`,
    ...KEYS.map((k, i) => `${k} = ${CHOICES[k]![picks[i]!]}`),
  ];
  return parseConfigText(lines.join("\n"), "t.conf", { checkFiles: false, baseDir: "/" }).config;
}

const picksArb = fc.array(fc.integer({ min: 0, max: 1 }), { minLength: KEYS.length, maxLength: KEYS.length });

test("property: the plan names exactly the changed keys, and restart keys keep their running value", () => {
  fc.assert(fc.property(picksArb, picksArb, (a, b) => {
    const running = load(a);
    const next = load(b);
    const plan = planReload(running, next);
    const changed = KEYS.filter((_, i) => a[i] !== b[i]).sort();
    assert.deepEqual(plan.changes.map((c) => c.key).sort(), changed);
    for (const c of plan.changes) {
      const found = lookupKey(c.key);
      assert.equal(found.kind, "known");
      if (found.kind === "known") assert.equal(c.reload, found.spec.reload, c.key);
    }
    // Planning against itself changes nothing.
    assert.deepEqual(planReload(running, running).changes, []);
    // What the plan runs with: each key's value from the file its class says.
    const expected = KEYS.map((k, i) => {
      const found = lookupKey(k);
      const cls = found.kind === "known" ? found.spec.reload : "restart";
      return cls === "restart" ? a[i]! : b[i]!;
    });
    assert.deepEqual(planReload(load(expected), plan.config).changes, []);
  }), { numRuns: 60 });
});
