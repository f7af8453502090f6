/**
 * The Choria keys an operator brings from a broker.conf: each behaves as the
 * Choria broker does or is refused with key, file, line and restriction.
 * soft_shutdown_timeout (both spellings), the TLS hardening keys (Go names
 * translated to OpenSSL's), gateway_name, broker_federation, adapters, the
 * logfile targets, and plugin.d/*.cfg next to the configuration.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../../src/errors.js";
import { getPki } from "../../../src/devkit/pki.js";
import { configProblems, loadConfig, parseConfigText } from "../../../src/config/load.js";
import { logTarget, serverTls, tlsPolicy } from "../../../src/config/parts.js";
import { GO_CIPHER_SUITES, GO_CURVES, GO_INSECURE_SUITES, opensslCiphers, opensslCurves } from "../../../src/config/tls_names.js";

let dir = "";
const SIGNER_HEX = "a".repeat(64);
const N = "plugin.choria.network.";
const A = `${N}aaa_leafnode.`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "aaa-choria-keys-"));
  // Certificate and key are checked to go together, so they are a real pair.
  const pki = await getPki();
  copyFileSync(pki.gateway.cert, join(dir, "cert.pem"));
  copyFileSync(pki.gateway.key, join(dir, "key.pem"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function conf(...extra: string[]): string {
  return [`plugin.security.file.certificate = ${dir}/cert.pem`, `plugin.security.file.key = ${dir}/key.pem`, `${N}client_signer_cert = ${SIGNER_HEX}`, ...extra].join("\n") + "\n";
}
const load = (text: string) => parseConfigText(text, "test.conf", { baseDir: dir });
function problems(text: string): readonly ConfigError[] {
  try {
    load(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return configProblems(err);
  }
  assert.fail("expected the configuration to be refused");
}

describe("soft_shutdown_timeout", () => {
  test("Choria's broker key, in plain seconds as Choria writes it", () => {
    assert.equal(load(conf(`${N}soft_shutdown_timeout = 60`)).config.softShutdownTimeout, 60_000);
    assert.equal(load(conf(`${N}soft_shutdown_timeout = 1m30s`)).config.softShutdownTimeout, 90_000);
  });
  test("the process-wide key applies when the broker key is not set; the broker key wins, with a warning", () => {
    assert.equal(load(conf("soft_shutdown_timeout = 2")).config.softShutdownTimeout, 2000);
    const both = load(conf(`${N}soft_shutdown_timeout = 30`, "soft_shutdown_timeout = 2"));
    assert.equal(both.config.softShutdownTimeout, 30_000);
    const w = both.warnings.find((x) => x.key === "soft_shutdown_timeout");
    assert.ok(w, "the losing key is named");
    assert.equal(w.line, 5);
    assert.match(w.message, /plugin\.choria\.network\.soft_shutdown_timeout \(line 4\) sets the same setting and wins/);
  });
  test("a bad value names key and line", () => {
    const [p] = problems(conf("soft_shutdown_timeout = soon"));
    assert.equal(p!.key, "soft_shutdown_timeout");
    assert.equal(p!.line, 4);
  });
});

describe("cipher_suites, ecc_curves and the minimum TLS version", () => {
  test("Go names are translated to OpenSSL names, in order, TLS 1.3 suites always on", () => {
    const { config } = load(conf(
      "plugin.security.cipher_suites = TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
      "plugin.security.ecc_curves = CurveP256, X25519",
    ));
    assert.deepEqual(config.tls.cipherSuites, ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"]);
    const p = tlsPolicy(config);
    assert.equal(p.ciphers, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305");
    assert.equal(p.ecdhCurve, "P-256:X25519");
    assert.equal(p.minVersion, "TLSv1.2");
    // Every listener gets the same policy with its certificate.
    assert.equal(serverTls(config).ciphers, p.ciphers);
  });

  test("nothing configured leaves Node's defaults", () => {
    const p = tlsPolicy(load(conf()).config);
    assert.equal(p.ciphers, undefined);
    assert.equal(p.ecdhCurve, undefined);
  });

  test("every Go name maps to a cipher or curve this Node's OpenSSL knows", async () => {
    const { getCiphers, createSecureContext } = await import("node:tls");
    const known = new Set(getCiphers().map((c) => c.toUpperCase()));
    for (const [go, ossl] of Object.entries(GO_CIPHER_SUITES)) assert.ok(known.has(ossl), `${go} → ${ossl}`);
    for (const [go, ossl] of Object.entries(GO_CURVES)) assert.doesNotThrow(() => createSecureContext({ ecdhCurve: ossl }), go);
  });

  test("an insecure or unknown suite names key, line and why", () => {
    const [p] = problems(conf("plugin.security.cipher_suites = TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_RC4_128_SHA"));
    assert.equal(p!.key, "plugin.security.cipher_suites");
    assert.equal(p!.line, 4);
    assert.match(p!.message, /TLS_RSA_WITH_RC4_128_SHA is insecure/);
    const [q] = problems(conf("plugin.security.cipher_suites = ECDHE-ECDSA-AES128-GCM-SHA256"));
    assert.match(q!.message, /not a Go cipher suite name/);
    const [r] = problems(conf("plugin.security.ecc_curves = P-256"));
    assert.equal(r!.key, "plugin.security.ecc_curves");
    assert.match(r!.message, /P-256 is not a curve Choria knows \(X25519, CurveP256, CurveP384, CurveP521\)/);
  });

  test("the minimum TLS version", () => {
    assert.equal(tlsPolicy(load(conf(`${A}tls_min_version = 1.3`)).config).minVersion, "TLSv1.3");
    assert.equal(tlsPolicy(load(conf(`${A}tls_min_version = TLSv1.2`)).config).minVersion, "TLSv1.2");
    const [p] = problems(conf(`${A}tls_min_version = 1.1`));
    assert.equal(p!.key, `${A}tls_min_version`);
    assert.match(p!.message, /1\.2 or 1\.3/);
  });

  test("property: any subset of the secure suites loads and translates one to one", () => {
    const secure = Object.keys(GO_CIPHER_SUITES);
    fc.assert(fc.property(fc.uniqueArray(fc.constantFrom(...secure), { minLength: 1 }), (names) => {
      const { config } = load(conf(`plugin.security.cipher_suites = ${names.join(",")}`));
      const tls12 = opensslCiphers(config.tls.cipherSuites)!.split(":").filter((n) => !n.startsWith("TLS_"));
      assert.deepEqual(tls12, [...new Set(names.map((n) => GO_CIPHER_SUITES[n]))]);
    }), { numRuns: 50 });
    fc.assert(fc.property(fc.constantFrom(...GO_INSECURE_SUITES), (bad) => {
      assert.throws(() => load(conf(`plugin.security.cipher_suites = ${bad}`)), /insecure/);
    }));
    assert.equal(opensslCurves(["CurveP521"]), "P-521");
  });
});

describe("gateway_name, broker_federation, adapters", () => {
  test("gateway_name names the cluster and forms no super cluster", () => {
    const { config, warnings } = load(conf(`${N}gateway_name = EDGE_1`));
    assert.equal(config.clusterName, "EDGE_1");
    assert.deepEqual(warnings, []);
    for (const k of ["gateway_port = 7222", "gateway_remotes = east"]) {
      const [p] = problems(conf(`${N}gateway_name = EDGE_1`, N + k));
      assert.equal(p!.line, 5);
      assert.match(p!.message, /joins no super cluster/);
    }
    const [bad] = problems(conf(`${N}gateway_name = edge one`));
    assert.equal(bad!.key, `${N}gateway_name`);
  });

  test("broker_federation = true is refused naming what it would break; false loads", () => {
    const [p] = problems(conf("plugin.choria.broker_federation = true"));
    assert.equal(p!.key, "plugin.choria.broker_federation");
    assert.equal(p!.file, "test.conf");
    assert.equal(p!.line, 4);
    assert.match(p!.message, /refused when true: a Federation Broker relays requests and replies between collectives .* outside each caller's AAA permissions/);
    assert.doesNotThrow(() => load(conf("plugin.choria.broker_federation = false")));
  });

  test("any data adapter is refused naming what it would break; an empty list loads", () => {
    const [p] = problems(conf("plugin.choria.adapters = discovery, registration"));
    assert.equal(p!.key, "plugin.choria.adapters");
    assert.equal(p!.line, 4);
    assert.match(p!.message, /Data Adapters .* would show one caller's data to others/);
    assert.doesNotThrow(() => load(conf("plugin.choria.adapters = ")));
  });
});

describe("logfile targets", () => {
  test("stdout, stderr and discard are Choria's targets, in any case; other values are files", () => {
    for (const [value, kind] of [["stdout", "stdout"], ["STDERR", "stderr"], ["Discard", "discard"]] as const) {
      const { config } = load(conf(`logfile = ${value}`, `${A}audit_logfile = ${value}`));
      assert.equal(config.logFile, kind);
      assert.deepEqual(logTarget(config.logFile), { kind });
      assert.deepEqual(logTarget(config.auditFile), { kind });
    }
    const { config } = load(conf("logfile = gateway.log"));
    assert.equal(config.logFile, join(dir, "gateway.log"));
    assert.deepEqual(logTarget(config.logFile), { kind: "file", path: join(dir, "gateway.log") });
    assert.deepEqual(logTarget(undefined), { kind: "stderr" });
  });
});

describe("plugin.d", () => {
  test("plugin.d/*.cfg next to the file is read as plugin.<name>.<key>, after the file, in name order", () => {
    const root = mkdtempSync(join(dir, "pd-"));
    writeFileSync(join(root, "broker.conf"), conf(`${N}client_port = 4333`, "plugin.choria.stats_port = 8222"));
    mkdirSync(join(root, "plugin.d"));
    writeFileSync(join(root, "plugin.d", "choria.cfg"), "# comment\nnetwork.client_port = 4444\nnetwork.websocket_port = 8443\n");
    writeFileSync(join(root, "plugin.d", "security.conf"), "cipher_suites = TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n");
    writeFileSync(join(root, "plugin.d", "ignored.txt"), "not = read\n");
    const { config, warnings } = loadConfig(join(root, "broker.conf"));
    assert.equal(config.clientPort, 4444);
    assert.equal(config.websocketPort, 8443);
    assert.equal(config.statsPort, 8222);
    assert.deepEqual(config.tls.cipherSuites, ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]);
    const w = warnings.find((x) => x.key === `${N}client_port`)!;
    assert.equal(w.file, join(root, "plugin.d", "choria.cfg"));
    assert.equal(w.line, 2);
    assert.match(w.message, /also set in .*broker\.conf on line 4/);
  });

  test("a problem in a plugin.d file names that file, its line and the full key", () => {
    const root = mkdtempSync(join(dir, "pd-"));
    writeFileSync(join(root, "broker.conf"), conf());
    mkdirSync(join(root, "plugin.d"));
    writeFileSync(join(root, "plugin.d", "choria.cfg"), "\nnetwork.gateway_port = 7222\n");
    try {
      loadConfig(join(root, "broker.conf"));
      assert.fail("expected a refusal");
    } catch (err) {
      const [p] = configProblems(err as ConfigError);
      assert.equal(p!.file, join(root, "plugin.d", "choria.cfg"));
      assert.equal(p!.line, 2);
      assert.equal(p!.key, `${N}gateway_port`);
      assert.match(p!.message, /super cluster/);
    }
  });
});
