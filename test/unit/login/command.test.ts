/**
 * Unit tests of the login command's pure parts: argument parsing, durations,
 * the interpretation of an AAA answer, the network-error classification that
 * decides failover, and the exit code/stderr of usage errors.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { parseLoginArgs, parseDuration, runLoginCommand } from "../../../src/login/command.js";
import { interpretLoginResponse } from "../../../src/login/aaa_client.js";
import { LoginError, LoginErrorCode, failedBeforeSending, isTlsFailure, networkErrorCode } from "../../../src/login/errors.js";

describe("parseLoginArgs", () => {
  test("defaults", () => {
    assert.deepEqual(parseLoginArgs([]), { connectTimeoutMs: 5000, timeoutMs: 20000, help: false });
  });
  test("both --flag value and --flag=value; --url accumulates", () => {
    const f = parseLoginArgs(["--user", "bob", "--password-file=-", "--url", "https://a/,https://b/", "--url=https://c/", "--timeout", "1.5s", "--connect-timeout=250ms", "--ca", "/ca.pem", "--token-file", "/t", "--seed-file", "/s", "--config", "/c"]);
    assert.equal(f.user, "bob");
    assert.equal(f.passwordFile, "-");
    assert.deepEqual(f.urls, ["https://a/", "https://b/", "https://c/"]);
    assert.equal(f.timeoutMs, 1500);
    assert.equal(f.connectTimeoutMs, 250);
    assert.equal(f.ca, "/ca.pem");
    assert.equal(f.tokenFile, "/t");
    assert.equal(f.seedFile, "/s");
    assert.equal(f.config, "/c");
  });
  const bad: Array<[string[], RegExp]> = [
    [["--bogus"], /unknown argument/],
    [["--user"], /needs a value/],
    [["--user", " "], /must not be empty/],
    [["--timeout", "soon"], /not a duration/],
    [["--timeout", "0"], /greater than zero/],
  ];
  for (const [argv, re] of bad) {
    test(`usage error: ${argv.join(" ")}`, () => {
      assert.throws(() => parseLoginArgs(argv), (err: unknown) => err instanceof LoginError && err.code === LoginErrorCode.Usage && re.test(err.message));
    });
  }
});

test("parseDuration", () => {
  assert.equal(parseDuration("5", "--t"), 5000);
  assert.equal(parseDuration("5s", "--t"), 5000);
  assert.equal(parseDuration("500ms", "--t"), 500);
  assert.equal(parseDuration("2m", "--t"), 120000);
});

describe("interpretLoginResponse", () => {
  const jwt = "aaa.bbb.ccc";
  test("a token", () => assert.deepEqual(interpretLoginResponse("u", 200, JSON.stringify({ token: jwt })), { token: jwt, url: "u" }));
  const cases: Array<[string, number, string, LoginErrorCode, RegExp]> = [
    ["service refusal", 200, '{"error":"Login failed"}', LoginErrorCode.Refused, /Login failed/],
    ["HTML", 200, "<html></html>", LoginErrorCode.Malformed, /not a JSON object/],
    ["no token", 200, "{}", LoginErrorCode.Malformed, /neither a token nor an error/],
    ["token not a JWT", 200, '{"token":"abc"}', LoginErrorCode.Malformed, /not a JWT/],
    ["relay 502", 502, '{"error":"AAA service unreachable: x: ECONNREFUSED"}', LoginErrorCode.Unreachable, /HTTP 502: AAA service unreachable/],
    ["HTTP 404", 404, "nope", LoginErrorCode.Malformed, /HTTP 404/],
  ];
  for (const [name, status, body, code, re] of cases) {
    test(name, () => {
      assert.throws(() => interpretLoginResponse("http://x/choria/v1/login", status, body), (err: unknown) => {
        assert.ok(err instanceof LoginError);
        assert.equal(err.code, code);
        assert.match(err.message, re);
        assert.match(err.message, /http:\/\/x\/choria\/v1\/login/);
        return true;
      });
    });
  }
});

describe("network error classification", () => {
  const cases: Array<[string, boolean, boolean]> = [
    ["ECONNREFUSED", true, false],
    ["ENOTFOUND", true, false],
    ["UND_ERR_CONNECT_TIMEOUT", true, false],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", true, true],
    ["ERR_TLS_CERT_ALTNAME_INVALID", true, true],
    ["UND_ERR_HEADERS_TIMEOUT", false, false],
    ["ECONNRESET", false, false],
    ["UND_ERR_SOCKET", false, false],
  ];
  for (const [code, before, tls] of cases) {
    test(code, () => {
      assert.equal(failedBeforeSending(code), before);
      assert.equal(isTlsFailure(code), tls);
    });
  }
  test("networkErrorCode looks through cause", () => {
    const wrapped = Object.assign(new Error("fetch failed"), { cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }) });
    assert.equal(networkErrorCode(wrapped), "ECONNREFUSED");
    assert.equal(networkErrorCode(Object.assign(new Error("closed"), { code: "UND_ERR_SOCKET" })), "UND_ERR_SOCKET");
    assert.equal(networkErrorCode(new Error("plain")), "UNKNOWN");
  });
});

test("runLoginCommand: usage error → exit 1 with a hint; --help → exit 0", async () => {
  let err = "";
  let out = "";
  const io = { stdin: new PassThrough(), stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {} };
  assert.equal(await runLoginCommand(["--nope"], io), 1);
  assert.match(err, /^aaa-leafnode login: unknown argument '--nope'\n/);
  assert.match(err, /--help/);
  assert.equal(await runLoginCommand(["--help"], io), 0);
  assert.match(out, /--password-file FILE/);
});
