/**
 * Unit tests of the relay's request validation (aaasvc LoginRequest and
 * SignRequest shapes): what passes, and that each refusal names the field.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { validateRelayBody } from "../../../src/login/schemas.js";

const goodLogin = {
  username: "bob",
  password: "secret",
  public_key: "a".repeat(64),
  timestamp: "1732350000",
  signature: "b".repeat(128),
};
const goodSign = { token: "eyJh.eyJi.c2ln", request: Buffer.from('{"agent":"rpcutil"}').toString("base64"), signature: "c".repeat(128) };

describe("validateRelayBody login", () => {
  test("a well-formed login passes (extra fields ignored)", () => {
    assert.equal(validateRelayBody("login", { ...goodLogin, extra: 1 }), null);
  });
  const bad: Array<[string, unknown, RegExp]> = [
    ["not an object", [1], /JSON object/],
    ["null", null, /JSON object/],
    ["missing username", { ...goodLogin, username: undefined }, /^invalid login request: username: is required$/],
    ["empty password", { ...goodLogin, password: "" }, /password: must not be empty/],
    ["short public key", { ...goodLogin, public_key: "ab" }, /public_key: must be 64 hex/],
    ["non-hex public key", { ...goodLogin, public_key: "z".repeat(64) }, /public_key/],
    ["numeric timestamp", { ...goodLogin, timestamp: 1732350000 }, /timestamp: must be a string/],
    ["timestamp with letters", { ...goodLogin, timestamp: "17x" }, /timestamp: must be unix seconds/],
    ["short signature", { ...goodLogin, signature: "ab" }, /signature: must be 128 hex/],
  ];
  for (const [name, body, re] of bad) {
    test(`refused: ${name}`, () => {
      const problem = validateRelayBody("login", body);
      assert.notEqual(problem, null);
      assert.match(problem!, re);
      assert.ok(!problem!.includes("secret"), "never echoes values");
    });
  }
});

describe("validateRelayBody sign", () => {
  test("well-formed sign requests pass, with or without a signature", () => {
    assert.equal(validateRelayBody("sign", goodSign), null);
    assert.equal(validateRelayBody("sign", { ...goodSign, signature: undefined }), null);
    assert.equal(validateRelayBody("sign", { ...goodSign, signature: "" }), null);
  });
  const bad: Array<[string, unknown, RegExp]> = [
    ["missing token", { ...goodSign, token: undefined }, /token: is required/],
    ["token not a JWT", { ...goodSign, token: "abc" }, /token: must be a JWT/],
    ["request not base64", { ...goodSign, request: "%%%" }, /request: must be standard base64/],
    ["request empty", { ...goodSign, request: "" }, /request: must not be empty/],
    ["signature not hex", { ...goodSign, signature: "x".repeat(128) }, /signature: must be empty or 128 hex/],
  ];
  for (const [name, body, re] of bad) {
    test(`refused: ${name}`, () => assert.match(validateRelayBody("sign", body) ?? "", re));
  }
});
