/**
 * Loading broker.conf into GatewayConfig (config/load.ts): the Choria
 * announcement configuration, refused settings, warnings, bad values, leafnode
 * remote keys, semantic checks and the effective-settings printout. Files the
 * configuration names are created per test in a temporary folder.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ConfigError } from "../../../src/errors.js";
import { getPki } from "../../../src/devkit/pki.js";
import { editDistance, KEYS, lookupKey } from "../../../src/config/keys.js";
import {
  AggregateConfigError, configProblems, describeConfig, loadConfig, parseConfigText,
} from "../../../src/config/load.js";

let dir = "";
const SIGNER_HEX = "a".repeat(64);
const ISSUER_HEX = "b".repeat(64);
const REMOTE = "plugin.choria.network.leafnode_remote.";
const OWN = "plugin.choria.network.aaa_leafnode.";

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "aaa-leafnode-config-"));
  for (const f of ["ca.pem", "signer-cert.pem", "hub.creds"]) {
    writeFileSync(join(dir, f), `-----BEGIN TEST-----\nSECRET-CONTENT-OF-${f}\n-----END TEST-----\n`);
  }
  // Certificate and key pairs are checked to go together, so they are real ones.
  const pki = await getPki();
  for (const [to, from] of [["cert.pem", pki.gateway.cert], ["key.pem", pki.gateway.key], ["own-cert.pem", pki.hub.cert], ["own-key.pem", pki.hub.key], ["up.pem", pki.leaf.cert], ["up-key.pem", pki.leaf.key]] as const) {
    copyFileSync(from, join(dir, to));
  }
  mkdirSync(join(dir, "policies"));
  mkdirSync(join(dir, "a-folder.pem"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A minimal valid configuration, then `extra` lines (their line numbers start at 4). */
function conf(...extra: string[]): string {
  return [
    `plugin.security.file.certificate = ${dir}/cert.pem`,
    `plugin.security.file.key = ${dir}/key.pem`,
    `plugin.choria.network.client_signer_cert = ${SIGNER_HEX}`,
    ...extra,
  ].join("\n") + "\n";
}

function load(text: string, opts = {}) {
  return parseConfigText(text, "test.conf", { baseDir: dir, ...opts });
}

/** The problems a load throws (fails the test if it does not throw a ConfigError). */
function problems(text: string, opts = {}): readonly ConfigError[] {
  try {
    load(text, opts);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, "GW_ERR_CONFIG");
    return configProblems(err);
  }
  assert.fail("expected the configuration to be refused");
}

describe("the Choria announcement configuration", () => {
  test("loads unchanged, with the right values", () => {
    const text = [
      "loglevel = info",
      "plugin.choria.network.client_anon_tls = true",
      "plugin.choria.security.request_signing_certificate = /etc/choria/aaa/signer-cert.pem",
      "plugin.security.provider = file",
      "plugin.security.file.certificate = /etc/choria/leafnode/cert.pem",
      "plugin.security.file.key = /etc/choria/leafnode/key.pem",
      "plugin.security.file.ca = /etc/choria/leafnode/ca.pem",
      "plugin.choria.network.leafnode_remotes = choria",
      "plugin.choria.network.leafnode_remote.choria.url = nats://choria.example.net:7422",
      "plugin.choria.broker_network = true",
      "plugin.choria.network.client_port = 4222",
    ].join("\n").replaceAll("/etc/choria/aaa/", `${dir}/`).replaceAll("/etc/choria/leafnode/", `${dir}/`);
    const path = join(dir, "broker.conf");
    writeFileSync(path, text);
    const { config, warnings } = loadConfig(path);
    assert.deepEqual(warnings, []);
    assert.equal(config.source, path);
    assert.equal(config.logLevel, "info");
    assert.equal(config.serverName, hostname());
    assert.equal(config.mainCollective, "choria");
    assert.equal(config.clientPort, 4222);
    assert.equal(config.listenAddress, "::");
    assert.deepEqual(config.clientTls, { cert: `${dir}/cert.pem`, key: `${dir}/key.pem`, ca: `${dir}/ca.pem` });
    assert.deepEqual(config.clientSigners, [`${dir}/signer-cert.pem`]);
    assert.deepEqual(config.issuers, {});
    assert.equal(config.authenticator, "aaa");
    assert.deepEqual(config.leafRemotes, [{
      name: "choria",
      urls: ["nats://choria.example.net:7422"],
      tls: { cert: `${dir}/cert.pem`, key: `${dir}/key.pem`, ca: `${dir}/ca.pem`, verify: true, handshakeFirst: false },
      account: "choria",
      jetStreamExtended: false,
    }]);
    assert.equal(basename(config.policiesDir), "policies");
    // Defaults exactly as documented in config/types.ts.
    assert.deepEqual(config.limits, {
      maxConnections: 10000, maxConnectionsPerCaller: 100, maxSubscriptions: 1000, maxPayload: 1048576, maxControlLine: 4096,
      maxConnectLine: 32768, maxPending: 64 * 1048576, maxTokenSize: 16384,
    });
    assert.deepEqual(
      [config.tlsTimeout, config.authTimeout, config.writeDeadline, config.pingInterval, config.pingMax, config.softShutdownTimeout,
        config.lameDuckDuration, config.lameDuckGracePeriod, config.clockSkew, config.upstreamBufferBytes,
        config.reconnectBaseDelay, config.reconnectMaxDelay, config.statsAddress, config.statsPort, config.websocketPort],
      [2000, 2000, 10000, 120000, 2, 10000, 30000, 10000, 5000, 8 * 1048576, 1000, 30000, "127.0.0.1", 0, 0],
    );
  });
});

describe("refused settings", () => {
  const cluster = /forms no cluster/;
  const superCluster = /joins no super cluster/;
  const servers = /no Choria Server connects here/;
  const table: [string, RegExp][] = [
    ["plugin.choria.network.peers = nats://a:5222", cluster],
    ["plugin.choria.network.peer_port = 5222", cluster],
    ["plugin.choria.network.peer_user = u", cluster],
    ["plugin.choria.network.peer_password = p", cluster],
    ["plugin.choria.network.gateway_port = 7222", superCluster],
    ["plugin.choria.network.gateway_remotes = east", superCluster],
    ["plugin.choria.network.gateway_remote.east.urls = nats://e:7222", superCluster],
    ["plugin.choria.network.leafnode_port = 7422", /accepts no leafnodes/],
    ["plugin.choria.network.server_signer_cert = /x.pem", servers],
    ["plugin.choria.network.provisioning.signer_cert = /x.pem", servers],
    ["plugin.choria.network.provisioning.client_password = s", servers],
    ["plugin.security.server_anon_tls = true", servers],
    ["plugin.choria.network.system.user = system", /no system account/],
    ["plugin.choria.network.system.password = s3cret", /no system account/],
    ["plugin.choria.network.deny_server_connections = false", servers],
    ["plugin.choria.network.client_anon_tls = false", /anonymous TLS .* only client mode/],
    ["plugin.choria.network.client_anon_tls = no", /anonymous TLS .* only client mode/],
  ];
  for (const [line, restriction] of table) {
    test(line, () => {
      const key = line.split("=")[0]!.trim();
      const [p, ...rest] = problems(conf("identity = gw1", line));
      assert.equal(rest.length, 0, rest.map((e) => e.message).join("\n"));
      assert.equal(p!.key, key);
      assert.equal(p!.line, 5);
      assert.equal(p!.file, "test.conf");
      assert.match(p!.message, restriction);
      assert.ok(p!.message.startsWith(`test.conf:5: ${key}: `), p!.message);
    });
  }

  test("tls.disable = true on a remote is refused; false is fine", () => {
    const remote = ["plugin.choria.network.leafnode_remotes = hub", "plugin.choria.network.leafnode_remote.hub.url = hub:7422"];
    const [p] = problems(conf(...remote, "plugin.choria.network.leafnode_remote.hub.tls.disable = yes"));
    assert.equal(p!.key, "plugin.choria.network.leafnode_remote.hub.tls.disable");
    assert.equal(p!.line, 6);
    assert.match(p!.message, /always mutual TLS/);
    assert.equal(load(conf(...remote, "plugin.choria.network.leafnode_remote.hub.tls.disable = no")).config.leafRemotes.length, 1);
  });

  test("the allowed values of the conditional keys load", () => {
    const { warnings } = load(conf("plugin.choria.network.deny_server_connections = true", "plugin.choria.network.client_anon_tls = on"));
    assert.deepEqual(warnings, []);
  });
});

describe("warnings", () => {
  test("an unknown key warns with file, line and key and is otherwise ignored", () => {
    const { warnings } = load(conf("identity = gw1", "plugin.choria.network.no_such_thing = 1"));
    assert.deepEqual(warnings, [{ file: "test.conf", line: 5, key: "plugin.choria.network.no_such_thing", message: "unknown key, ignored", unknownKey: true }]);
  });

  const typos: [typed: string, meant: string | undefined][] = [
    ["plugin.choria.network.clinet_port", "plugin.choria.network.client_port"],
    ["plugin.choria.network.client_prot", "plugin.choria.network.client_port"],
    ["plugin.security.file.certifcate", "plugin.security.file.certificate"],
    ["loglvel", "loglevel"],
    ["plugin.choria.network.leafnode_remote.east.tls.cretificate", undefined],
    ["plugin.choria.network.leafnode_remote.east.tsl.cert", "plugin.choria.network.leafnode_remote.east.tls.cert"],
    ["plugin.choria.network.aaa_leafnode.max_subscription", "plugin.choria.network.aaa_leafnode.max_subscriptions"],
    ["plugin.choria.network.no_such_thing", undefined],
    ["colour", undefined],
  ];
  for (const [typed, meant] of typos) {
    test(`an unknown key ${typed} suggests ${meant ?? "nothing"}`, () => {
      const { warnings } = load(conf(`${typed} = 1`));
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]!.key, typed);
      assert.equal(warnings[0]!.unknownKey, true);
      assert.equal(warnings[0]!.message, meant === undefined ? "unknown key, ignored" : `unknown key, ignored; did you mean ${meant}?`);
    });
  }

  test("property: one typo in any known key is unknown and suggests a known key", () => {
    const known = KEYS.filter((s) => !s.key.includes("<name>")).map((s) => s.key);
    fc.assert(fc.property(fc.constantFrom(...known), fc.nat(), fc.constantFrom("x", "q", "z"), (key, at, ch) => {
      const i = at % key.length;
      const typed = key.slice(0, i) + ch + key.slice(i + 1);
      const found = lookupKey(typed);
      if (found.kind !== "unknown") return true; // the typo made another known (or refused, ignored) key
      // The nearest known key: the one typed, or one just as near.
      return found.suggestion !== undefined && editDistance(typed, found.suggestion) <= editDistance(typed, key);
    }));
  });

  test("edit distance: insertions, deletions, substitutions and adjacent swaps count one each", () => {
    assert.equal(editDistance("client_port", "client_port"), 0);
    assert.equal(editDistance("client_port", "clinet_port"), 1);
    assert.equal(editDistance("client_port", "client_prt"), 1);
    assert.equal(editDistance("client_port", "cliient_port"), 1);
    assert.equal(editDistance("client_port", "client_pork"), 1);
    assert.equal(editDistance("abc", ""), 3);
    assert.equal(editDistance("", "abc"), 3);
    assert.equal(editDistance("ca", "abc"), 3);
  });

  test("understood but ineffective Choria keys warn with the reason", () => {
    const { warnings } = load(conf(`plugin.security.choria.trusted_signers = ${SIGNER_HEX}`, "plugin.choria.network.stream.store = /var/lib/s"));
    assert.equal(warnings.length, 2);
    assert.equal(warnings[0]!.key, "plugin.security.choria.trusted_signers");
    assert.equal(warnings[0]!.line, 4);
    assert.match(warnings[0]!.message, /client_signer_cert/);
    assert.match(warnings[1]!.message, /JetStream/);
  });

  test("a duplicate key warns naming both lines, and the last value wins", () => {
    const { config, warnings } = load(conf("loglevel = info", "identity = gw1", "loglevel = debug"));
    assert.equal(config.logLevel, "debug");
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.key, "loglevel");
    assert.equal(warnings[0]!.line, 6);
    assert.match(warnings[0]!.message, /line 4.*line 6/);
  });

  test("a security provider other than file warns", () => {
    const { warnings } = load(conf("plugin.security.provider = puppet"));
    assert.equal(warnings[0]!.key, "plugin.security.provider");
    assert.match(warnings[0]!.message, /only the "file" security provider/);
  });
});

describe("bad values name key and line", () => {
  const table: [string, RegExp][] = [
    ["plugin.choria.network.client_port = 70000", /not a valid port/],
    ["plugin.choria.network.websocket_port = -2", /not a valid port/],
    ["plugin.choria.stats_port = http", /not a valid port/],
    ["plugin.choria.network.tls_timeout = 61s", /out of range/],
    ["plugin.choria.network.auth_timeout = soon", /not a duration/],
    ["plugin.choria.network.aaa_leafnode.max_payload = 1TB", /not a size/],
    ["plugin.choria.network.aaa_leafnode.max_payload = 65MB", /out of range/],
    ["plugin.choria.network.aaa_leafnode.ping_max = 0", /out of range/],
    ["plugin.choria.network.aaa_leafnode.max_connections = many", /not an integer/],
    ["plugin.choria.network.aaa_leafnode.websocket_insecure = maybe", /not a boolean/],
    ["plugin.choria.network.aaa_leafnode.authenticator = none", /not an authenticator/],
    ["loglevel = loud", /not a log level/],
    ["identity = ", /must not be empty/],
    ["plugin.choria.network.client_hosts = 10.0.0.0/8, not-an-ip", /not-an-ip/],
    ["plugin.login.aaasvc.login.url = ftp://aaa.example", /not an http\(s\) URL/],
  ];
  for (const [line, why] of table) {
    test(line, () => {
      const [p, ...rest] = problems(conf(line));
      assert.equal(rest.length, 0, rest.map((e) => e.message).join("\n"));
      assert.equal(p!.key, line.split("=")[0]!.trim());
      assert.equal(p!.line, 4);
      assert.match(p!.message, why);
    });
  }
});

describe("typed values reach the configuration", () => {
  test("durations, sizes, booleans, ints and lists", () => {
    const A = "plugin.choria.network.aaa_leafnode.";
    const { config } = load(conf(
      "plugin.choria.network.tls_timeout = 500ms", "plugin.choria.network.auth_timeout = 3", "plugin.choria.network.write_deadline = 1m",
      `${A}max_payload = 2MB`, `${A}max_pending = 128MiB`, `${A}max_control_line = 8192`, `${A}max_token_size = 8KiB`,
      `${A}websocket_compression = off`, `${A}websocket_insecure = yes`, `${A}websocket_allowed_origins = https://a.example, https://b.example`,
      `${A}max_connections = 0`, `${A}ping_interval = 30s`, `${A}lame_duck_duration = 1m30s`, `${A}lame_duck_grace_period = 0`,
      "plugin.choria.network.client_hosts = 10.0.0.0/8, 2001:db8::/32", "plugin.choria.network.websocket_port = 8443",
      "plugin.choria.stats_port = 8222", "loglevel = warning", "identity = gw-1",
    ));
    assert.equal(config.tlsTimeout, 500);
    assert.equal(config.authTimeout, 3000);
    assert.equal(config.writeDeadline, 60_000);
    assert.equal(config.limits.maxPayload, 2 * 1048576);
    assert.equal(config.limits.maxPending, 128 * 1048576);
    assert.equal(config.limits.maxControlLine, 8192);
    assert.equal(config.limits.maxTokenSize, 8192);
    assert.equal(config.limits.maxConnections, 0);
    assert.equal(config.websocketCompression, false);
    assert.equal(config.websocketInsecure, true);
    assert.deepEqual(config.websocketAllowedOrigins, ["https://a.example", "https://b.example"]);
    assert.equal(config.pingInterval, 30_000);
    assert.equal(config.lameDuckDuration, 90_000);
    assert.equal(config.lameDuckGracePeriod, 0);
    assert.deepEqual(config.clientHosts, ["10.0.0.0/8", "2001:db8::/32"]);
    assert.equal(config.websocketPort, 8443);
    assert.equal(config.statsPort, 8222);
    assert.equal(config.logLevel, "warn");
    assert.equal(config.serverName, "gw-1");
  });

  test("main_collective defaults to the first of collectives; relative paths are taken from the config folder", () => {
    const { config } = load(conf("collectives = acme, other", "plugin.choria.network.aaa_leafnode.policies_dir = policies"));
    assert.equal(config.mainCollective, "acme");
    assert.equal(config.policiesDir, join(dir, "policies"));
    assert.equal(load(conf("collectives = acme", "main_collective = zeta")).config.mainCollective, "zeta");
  });

  test("org issuers instead of signers; the development authenticator needs neither", () => {
    const text = [
      `plugin.security.file.certificate = ${dir}/cert.pem`, `plugin.security.file.key = ${dir}/key.pem`,
      "plugin.security.issuer.names = acme, other", `plugin.security.issuer.acme.public = ${ISSUER_HEX}`,
      `plugin.security.issuer.other.public = ${SIGNER_HEX.toUpperCase()}`,
    ].join("\n");
    assert.deepEqual(load(text).config.issuers, { acme: ISSUER_HEX, other: SIGNER_HEX });
    const dev = load(`plugin.security.file.certificate = cert.pem\nplugin.security.file.key = key.pem\nplugin.choria.network.aaa_leafnode.authenticator = development\n`);
    assert.equal(dev.config.authenticator, "development");
    assert.deepEqual(dev.config.clientSigners, []);
  });

  test("signers from both the current and the older key are combined", () => {
    const { config } = load(conf(`plugin.choria.security.request_signing_certificate = signer-cert.pem`));
    assert.deepEqual(config.clientSigners, [SIGNER_HEX, join(dir, "signer-cert.pem")]);
  });

  test("a separate listener certificate leaves the upstream on plugin.security.file.*", () => {
    const A = "plugin.choria.network.aaa_leafnode.";
    const { config } = load(conf("plugin.security.file.ca = ca.pem", `${A}client_tls.certificate = own-cert.pem`, `${A}client_tls.key = own-key.pem`,
      "plugin.choria.network.leafnode_remotes = hub", "plugin.choria.network.leafnode_remote.hub.url = hub:7422"));
    assert.deepEqual(config.clientTls, { cert: join(dir, "own-cert.pem"), key: join(dir, "own-key.pem") });
    assert.equal(config.leafRemotes[0]!.tls.cert, join(dir, "cert.pem"));
    assert.equal(config.leafRemotes[0]!.tls.ca, join(dir, "ca.pem"));
  });
});

describe("leafnode remote keys", () => {
  const P = "plugin.choria.network.leafnode_remote.";
  test("several remotes, several URLs, the .credential alias and per-remote TLS", () => {
    const { config, warnings } = load(conf(
      "plugin.choria.network.leafnode_remotes = east, west",
      `${P}east.url = nats://e1.example:7422, tls://e2.example:7422,e3.example:7422`,
      `${P}east.credential = hub.creds`,
      `${P}east.tls.cert = up.pem`, `${P}east.tls.key = up-key.pem`, `${P}east.tls.ca = ca.pem`,
      `${P}east.tls.verify = no`, `${P}east.tls.handshake_first = yes`, `${P}east.account = ops`,
      `${P}west.url = w.example:7422`, `${P}west.credentials = hub.creds`,
    ));
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.leafRemotes, [
      {
        name: "east", urls: ["nats://e1.example:7422", "tls://e2.example:7422", "nats://e3.example:7422"],
        tls: { cert: join(dir, "up.pem"), key: join(dir, "up-key.pem"), ca: join(dir, "ca.pem"), verify: false, handshakeFirst: true },
        credentials: join(dir, "hub.creds"), account: "ops", jetStreamExtended: false,
      },
      {
        name: "west", urls: ["nats://w.example:7422"],
        tls: { cert: join(dir, "cert.pem"), key: join(dir, "key.pem"), verify: true, handshakeFirst: false },
        credentials: join(dir, "hub.creds"), account: "choria", jetStreamExtended: false,
      },
    ]);
  });

  test("two remotes dialling the same hub endpoint are refused, naming the key and line", () => {
    const [p] = problems(conf(
      "plugin.choria.network.leafnode_remotes = eu, us",
      `${P}eu.url = nats://hub.example:7422`,
      `${P}us.url = tls://other.example:7422, hub.example:7422`,
    ));
    assert.equal(p!.key, `${P}us.url`);
    assert.equal(p!.line, 6);
    assert.match(p!.message, /hub\.example:7422 is already a URL of remote "eu"/);
  });

  test("readiness rule and jetstream_extended are read; a bad readiness rule names its line", () => {
    const { config } = load(conf(
      "plugin.choria.network.leafnode_remotes = eu",
      `${P}eu.url = nats://hub.example:7422`,
      `${P}eu.jetstream_extended = true`,
      "plugin.choria.network.aaa_leafnode.upstream_readiness = any",
    ));
    assert.equal(config.upstreamReadiness, "any");
    assert.equal(config.leafRemotes[0]!.jetStreamExtended, true);
    const [p] = problems(conf("plugin.choria.network.aaa_leafnode.upstream_readiness = most"));
    assert.equal(p!.line, 4);
    assert.match(p!.message, /not a readiness rule/);
  });

  test("a listed remote without a URL is an error; settings of an unlisted remote warn", () => {
    const [p] = problems(conf("plugin.choria.network.leafnode_remotes = hub", `${P}other.url = o:7422`));
    assert.equal(p!.line, 4);
    assert.match(p!.message, /remote "hub" has no URL: set plugin\.choria\.network\.leafnode_remote\.hub\.url/);
    const { warnings } = load(conf("plugin.choria.network.leafnode_remotes = hub", `${P}hub.url = h:7422`, `${P}other.url = o:7422`));
    assert.equal(warnings[0]!.key, `${P}other.url`);
    assert.equal(warnings[0]!.line, 6);
    assert.match(warnings[0]!.message, /not listed/);
  });

  test("a URL without a port gets the leafnode port 7422, as the upstream link dials it", () => {
    const { config } = load(conf("plugin.choria.network.leafnode_remotes = hub", `${P}hub.url = nats://hub.example`));
    assert.deepEqual(config.leafRemotes[0]!.urls, ["nats://hub.example:7422"]);
  });

  test("a URL with a scheme the link cannot dial names the key and line", () => {
    const [p] = problems(conf("plugin.choria.network.leafnode_remotes = hub", `${P}hub.url = http://hub.example:7422`));
    assert.equal(p!.key, `${P}hub.url`);
    assert.equal(p!.line, 5);
    assert.match(p!.message, /scheme/);
  });
});

describe("semantic checks", () => {
  test("missing and unreadable files name the key and the path", () => {
    const text = conf().replace(`${dir}/cert.pem`, `${dir}/missing-cert.pem`).replace(`${dir}/key.pem`, `${dir}/a-folder.pem`);
    const ps = problems(text);
    assert.equal(ps.length, 2);
    assert.equal(ps[0]!.key, "plugin.security.file.certificate");
    assert.equal(ps[0]!.line, 1);
    assert.match(ps[0]!.message, new RegExp(`${dir}/missing-cert\\.pem: not found`));
    assert.equal(ps[1]!.key, "plugin.security.file.key");
    assert.match(ps[1]!.message, /a-folder\.pem: not a regular file/);
    // checkFiles: false skips file checks.
    assert.equal(load(text, { checkFiles: false }).config.clientTls.cert, `${dir}/missing-cert.pem`);
  });

  test("a missing file used by the listener and by a remote is reported once, naming both uses", () => {
    const text = conf("plugin.choria.network.leafnode_remotes = hub", `${REMOTE}hub.url = h:7422`).replace(`${dir}/cert.pem`, `${dir}/missing-cert.pem`);
    const ps = problems(text);
    assert.equal(ps.length, 1, ps.map((p) => p.message).join("\n"));
    assert.equal(ps[0]!.key, "plugin.security.file.certificate");
    assert.equal(ps[0]!.line, 1);
    assert.match(ps[0]!.message, /listener certificate file .*missing-cert\.pem \(also the remote "hub" certificate file\): not found$/);
  });

  test("a certificate and key that do not go together name the key's line and the certificate's", () => {
    const ps = problems(conf(`${OWN}client_tls.certificate = own-cert.pem`, `${OWN}client_tls.key = key.pem`,
      "plugin.choria.network.leafnode_remotes = east", `${REMOTE}east.url = h:7422`, `${REMOTE}east.tls.cert = up.pem`, `${REMOTE}east.tls.key = own-key.pem`));
    assert.deepEqual(ps.map((p) => [p.key, p.line]), [[`${OWN}client_tls.key`, 5], [`${REMOTE}east.tls.key`, 9]]);
    assert.match(ps[0]!.message, new RegExp(`listener key ${dir}/key\\.pem does not go with the certificate ${dir}/own-cert\\.pem \\(${OWN.replace(/\./g, "\\.")}client_tls\\.certificate, line 4\\): .*key values mismatch`));
    assert.match(ps[1]!.message, /remote "east" key .*own-key\.pem does not go with the certificate .*up\.pem \(plugin\.choria\.network\.leafnode_remote\.east\.tls\.cert, line 8\)/);
    // The listener's pair, inherited by a remote, is checked (and would be reported) once.
    assert.equal(problems(conf("plugin.choria.network.leafnode_remotes = hub", `${REMOTE}hub.url = h:7422`).replace(`${dir}/key.pem`, `${dir}/own-key.pem`)).length, 1);
  });

  test("a file that is no certificate or no key is reported at its own line", () => {
    const ps = problems(conf().replace(`${dir}/cert.pem`, `${dir}/ca.pem`).replace(`${dir}/key.pem`, `${dir}/hub.creds`));
    assert.deepEqual(ps.map((p) => [p.key, p.line]), [["plugin.security.file.certificate", 1], ["plugin.security.file.key", 2]]);
    assert.match(ps[0]!.message, /listener certificate .*ca\.pem cannot be loaded: /);
    assert.match(ps[1]!.message, /listener key .*hub\.creds cannot be loaded: /);
  });

  test("a missing signer file, credentials file and policies folder are reported", () => {
    const ps = problems(conf("plugin.choria.security.request_signing_certificate = nope.pem",
      "plugin.choria.network.aaa_leafnode.policies_dir = no-policies",
      "plugin.choria.network.leafnode_remotes = hub", "plugin.choria.network.leafnode_remote.hub.url = h:7422",
      "plugin.choria.network.leafnode_remote.hub.credentials = none.creds"));
    assert.deepEqual(ps.map((p) => [p.key, p.line]), [
      ["plugin.choria.network.client_signer_cert", 3],
      ["plugin.choria.network.aaa_leafnode.policies_dir", 5],
      ["plugin.choria.network.leafnode_remote.hub.credentials", 8],
    ]);
    assert.match(ps[0]!.message, /nope\.pem: not found/);
  });

  test("no listener certificate at all", () => {
    const [p, ...rest] = problems(`plugin.choria.network.client_signer_cert = ${SIGNER_HEX}\n`);
    assert.equal(rest.length, 0);
    assert.equal(p!.key, "plugin.security.file.certificate");
    assert.match(p!.message, /no listener certificate configured/);
  });

  test("a certificate without its key names the key that is set and the one missing", () => {
    const [p, ...rest] = problems(`plugin.security.file.certificate = cert.pem\nplugin.choria.network.client_signer_cert = ${SIGNER_HEX}\n`);
    assert.equal(rest.length, 0);
    assert.equal(p!.key, "plugin.security.file.certificate");
    assert.equal(p!.line, 1);
    assert.match(p!.message, /set without plugin\.security\.file\.key/);
  });

  test("a bad or missing issuer key is reported alone, not also as 'no AAA signer'", () => {
    const base = "plugin.security.file.certificate = cert.pem\nplugin.security.file.key = key.pem\nplugin.security.issuer.names = acme\n";
    const bad = problems(base + "plugin.security.issuer.acme.public = 1234\n");
    assert.deepEqual(bad.map((p) => [p.key, p.line]), [["plugin.security.issuer.acme.public", 4]]);
    const missing = problems(base);
    assert.deepEqual(missing.map((p) => [p.key, p.line]), [["plugin.security.issuer.names", 3]]);
  });

  test("no signer and no issuer with the aaa authenticator", () => {
    const [p, ...rest] = problems(`plugin.security.file.certificate = cert.pem\nplugin.security.file.key = key.pem\n`);
    assert.equal(rest.length, 0);
    assert.equal(p!.key, "plugin.choria.network.client_signer_cert");
    assert.match(p!.message, /no AAA signer configured: set plugin\.choria\.network\.client_signer_cert \(or plugin\.security\.issuer\.names\)$/);
  });

  test("issuers together with signers are refused", () => {
    const [p] = problems(conf("plugin.security.issuer.names = acme", `plugin.security.issuer.acme.public = ${ISSUER_HEX}`));
    assert.equal(p!.key, "plugin.security.issuer.names");
    assert.equal(p!.line, 4);
    assert.match(p!.message, /mutually exclusive/);
  });

  test("an issuer without a public key; a public key of an unlisted issuer warns", () => {
    const [p] = problems("plugin.security.file.certificate = cert.pem\nplugin.security.file.key = key.pem\nplugin.security.issuer.names = acme\n");
    assert.equal(p!.line, 3);
    assert.match(p!.message, /issuer "acme" has no public key/);
    const { warnings } = load(conf(`plugin.security.issuer.ghost.public = ${ISSUER_HEX}`));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.key, "plugin.security.issuer.ghost.public");
    assert.equal(warnings[0]!.line, 4);
    assert.match(warnings[0]!.message, /not listed in plugin\.security\.issuer\.names/);
  });

  test("cross-setting checks name the key and line that set the value", () => {
    const A = "plugin.choria.network.aaa_leafnode.";
    const table: [string[], string, number, RegExp][] = [
      [["plugin.choria.network.client_port = 4222", "plugin.choria.network.websocket_port = 4222"], "plugin.choria.network.websocket_port", 5, /already used/],
      [[`${A}login_relay_port = 8443`], `plugin.login.aaasvc.login.url`, NaN, /login relay needs AAA login URLs/],
      [[`${A}lame_duck_grace_period = 40s`], `${A}lame_duck_grace_period`, 4, /shorter than the lame duck duration/],
      [[`${A}reconnect_delay = 1m`], `${A}reconnect_delay`, 4, /must not exceed/],
      [[`${A}max_payload = 64MB`, `${A}max_pending = 1MB`], `${A}max_payload`, 4, /must not exceed the pending/],
    ];
    for (const [lines, key, line, why] of table) {
      const [p, ...rest] = problems(conf(...lines));
      assert.equal(rest.length, 0, rest.map((e) => e.message).join("\n"));
      assert.equal(p!.key, key, lines.join("; "));
      if (Number.isNaN(line)) assert.equal(p!.line, undefined);
      else assert.equal(p!.line, line);
      assert.match(p!.message, why);
    }
  });

  test("all problems are reported together, in line order", () => {
    let thrown: unknown;
    try {
      load(["not a setting", "plugin.choria.network.peers = x", "plugin.choria.network.client_port = x"].join("\n"));
    } catch (err) {
      thrown = err;
    }
    assert.ok(thrown instanceof AggregateConfigError);
    assert.deepEqual(thrown.problems.map((p) => p.line), [1, 2, 3, undefined, undefined]);
    assert.match(thrown.message, /5 configuration problems/);
    assert.match(thrown.message, /test\.conf:2: plugin\.choria\.network\.peers: refused/);
  });

  test("an unreadable configuration file is a ConfigError naming it", () => {
    assert.throws(() => loadConfig(join(dir, "no-such.conf")), (err: unknown) =>
      err instanceof ConfigError && err.file === join(dir, "no-such.conf") && /ENOENT/.test(err.message));
  });
});

describe("describeConfig", () => {
  test("prints every setting as broker.conf lines that load back to the same configuration, without file contents", () => {
    const { config } = load(conf("plugin.security.file.ca = ca.pem", "identity = gw1", "plugin.choria.network.websocket_port = 8443",
      "plugin.choria.network.leafnode_remotes = hub", "plugin.choria.network.leafnode_remote.hub.url = a:7422, b:7422",
      "plugin.choria.network.leafnode_remote.hub.credentials = hub.creds", "plugin.choria.network.aaa_leafnode.max_payload = 1500",
      "plugin.login.aaasvc.login.url = https://aaa.example/", "plugin.choria.network.aaa_leafnode.login_relay_port = 8443"
        .replace("8443", "9443")));
    const text = describeConfig(config);
    assert.match(text, /^identity = gw1$/m);
    assert.match(text, /^plugin\.choria\.network\.leafnode_remote\.hub\.url = nats:\/\/a:7422, nats:\/\/b:7422$/m);
    assert.match(text, /^plugin\.choria\.network\.aaa_leafnode\.max_pending = 64MiB$/m);
    assert.match(text, new RegExp(`^plugin\\.security\\.file\\.key = ${dir}/key\\.pem$`, "m"));
    assert.doesNotMatch(text, /SECRET-CONTENT/);
    const again = parseConfigText(text, "again.conf");
    assert.deepEqual(again.warnings, []);
    assert.deepEqual({ ...again.config, source: config.source }, config);
  });
});
