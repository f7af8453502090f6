/**
 * The configurations shipped in deploy/ load without errors or warnings
 * (file checks off: they name production paths), and the hub's Choria broker
 * configuration is refused, as it should be, because it opens a leafnode port.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../../../src/errors.js";
import { configProblems, parseConfigText } from "../../../src/config/load.js";

const deploy = (p: string) => fileURLToPath(new URL(`../../../../deploy/${p}`, import.meta.url));

test("deploy/broker.conf.example loads with no warnings", () => {
  const { config, warnings } = parseConfigText(readFileSync(deploy("broker.conf.example"), "utf8"), "broker.conf.example", { checkFiles: false });
  assert.deepEqual(warnings, []);
  assert.equal(config.leafRemotes[0]!.urls.length, 2);
  assert.equal(config.statsPort, 8222);
  assert.deepEqual(config.clientSigners, ["/etc/aaa-leafnode/tls/signer-cert.pem"]);
});

test("the broker.conf in the Kubernetes ConfigMap loads with no warnings", () => {
  const yaml = readFileSync(deploy("kubernetes/configmap.yaml"), "utf8").split("\n");
  const start = yaml.findIndex((l) => l.trim() === "broker.conf: |");
  assert.ok(start > 0);
  const body = yaml.slice(start + 1).filter((l) => l === "" || l.startsWith("    ")).map((l) => l.slice(4)).join("\n");
  const { config, warnings } = parseConfigText(body, "configmap.yaml", { checkFiles: false });
  assert.deepEqual(warnings, []);
  assert.equal(config.statsAddress, "0.0.0.0");
  assert.equal(config.leafRemotes[0]!.name, "choria");
});

test("the hub's Choria broker configuration is refused here (it accepts leafnodes)", () => {
  assert.throws(
    () => parseConfigText(readFileSync(deploy("hub/choria-broker.conf"), "utf8"), "choria-broker.conf", { checkFiles: false }),
    (err: unknown) => err instanceof ConfigError && configProblems(err).some((p) =>
      p.key === "plugin.choria.network.leafnode_port" && p.line !== undefined && /accepts no leafnodes/.test(p.message)),
  );
});
