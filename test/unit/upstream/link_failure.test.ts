/**
 * The failure table (src/upstream/link_failure.ts): every Node/OpenSSL code it
 * lists gives its failure code and a sentence naming the remote's keys, never
 * OpenSSL's raw text; wrapped errors are explained by their innermost code;
 * texts (the hub's -ERR, our own close reasons) stay verbatim; and nothing,
 * whatever the error, makes it throw. (Real hubs: test/e2e/ops_link_failures.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { UpstreamError } from "../../../src/errors.js";
import { FAILURE_TABLE, LinkFailureCode, alertCode, explainFailure, type FailureContext } from "../../../src/upstream/link_failure.js";
import { parseRemoteUrl } from "../../../src/upstream/remote_urls.js";

const ctx: FailureContext = {
  remote: { name: "edge", urls: ["tls://hub.example:7422"], tls: { cert: "/nonexistent/leaf.pem", key: "/nonexistent/leaf.key", ca: "/nonexistent/ca.pem", verify: true, handshakeFirst: false }, account: "$G" },
  url: parseRemoteUrl("tls://hub.example:7422"),
};

/** A Node error as Node makes it: OpenSSL alerts carry OpenSSL's raw message and a short `reason`. */
function nodeError(code: string): Error {
  if (code.startsWith("ERR_SSL")) {
    return Object.assign(new Error("80CCE29E447F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:SSL alert number 42"), { code, reason: "sslv3 alert bad certificate" });
  }
  return Object.assign(new Error(`${code.toLowerCase().replace(/_/g, " ")}`), { code });
}

const expected: [string, string][] = [
  ["ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", LinkFailureCode.HubRefusedOurCert],
  ["ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", LinkFailureCode.HubRefusedOurCert],
  // OpenSSL 3.2+ (Node 22 and later) spells every alert "ssl/tls alert …".
  ["ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE", LinkFailureCode.HubRefusedOurCert],
  ["ERR_SSL_SSL/TLS_ALERT_UNKNOWN_CA", LinkFailureCode.HubRefusedOurCert],
  ["ERR_SSL_SSL/TLS_ALERT_PROTOCOL_VERSION", LinkFailureCode.TlsPolicy],
  ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", LinkFailureCode.HubCertUntrusted],
  ["DEPTH_ZERO_SELF_SIGNED_CERT", LinkFailureCode.HubCertUntrusted],
  ["CERT_HAS_EXPIRED", LinkFailureCode.HubCertExpired],
  ["ERR_TLS_CERT_ALTNAME_INVALID", LinkFailureCode.HubNameMismatch],
  ["ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION", LinkFailureCode.TlsPolicy],
  ["ERR_OSSL_X509_KEY_VALUES_MISMATCH", LinkFailureCode.TlsFiles],
  ["ENOENT", LinkFailureCode.TlsFiles],
  ["ECONNREFUSED", LinkFailureCode.ConnectRefused],
  ["ENOTFOUND", LinkFailureCode.HostUnknown],
  ["EHOSTUNREACH", LinkFailureCode.Unreachable],
];

test("each listed code gives its failure, naming this remote's keys and not OpenSSL's text", () => {
  for (const [code, failure] of expected) {
    // As the dialer wraps it: our UpstreamError with the Node error as its cause.
    const f = explainFailure(new UpstreamError("GW_ERR_UPSTREAM_TLS", "TLS handshake with hub.example:7422: x", { cause: nodeError(code) }), ctx);
    assert.equal(f.code, failure, code);
    assert.ok(f.keys.length > 0 && f.keys.every((k) => f.message.includes(k)), `${code}: ${f.message}`);
    assert.ok(f.keys.some((k) => k.startsWith("plugin.choria.network.leafnode_remote.edge.") || k.startsWith("plugin.security.")), code);
    assert.doesNotMatch(f.message, /SSL routines|error:0A0/, code);
  }
});

test("every code in the table is explained by its row without throwing", () => {
  for (const row of FAILURE_TABLE) {
    for (const code of row.codes) assert.ok(explainFailure(nodeError(code), ctx).message.length > 20, code);
  }
});

test("a dial timeout says the hub did not answer", () => {
  const f = explainFailure(new UpstreamError("GW_ERR_UPSTREAM_TIMEOUT", "no INFO from hub.example:7422 within 5000 ms"), ctx);
  assert.equal(f.code, LinkFailureCode.Timeout);
  assert.match(f.message, /^the hub at hub\.example:7422 did not answer in time \(no INFO from hub\.example:7422 within 5000 ms\)/);
});

test("the hub's words and our own close reasons stay verbatim; a refused login names the credentials key", () => {
  assert.equal(explainFailure("Stale Connection: 3 PINGs unanswered", ctx).message, "Stale Connection: 3 PINGs unanswered");
  const auth = explainFailure("Authorization Violation", ctx);
  assert.equal(auth.message, "Authorization Violation");
  assert.equal(auth.code, LinkFailureCode.HubError);
  assert.ok(auth.keys.includes("plugin.choria.network.leafnode_remote.edge.credentials"));
});

test("property: any error or text is explained, never thrown; unknown codes keep the error's own message", () => {
  const known = new Set(FAILURE_TABLE.flatMap((r) => r.codes));
  fc.assert(fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), (text, code) => {
    const f = explainFailure(code === undefined ? text : Object.assign(new Error(text), { code }), ctx);
    assert.ok(Object.values(LinkFailureCode).includes(f.code as never));
    if (code === undefined && !/authorization violation/i.test(text)) assert.equal(f.message, text.trim());
    if (code !== undefined && !known.has(alertCode(code)) && code !== "GW_ERR_UPSTREAM_TIMEOUT") assert.equal(f.message, text.trim());
  }));
});
