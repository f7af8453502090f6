/**
 * 100,000 fuzzed inputs through the client parser on every CI run (about ten
 * seconds): no exception but ProtocolError escapes, every way of splitting the
 * same bytes gives the same ops and the same error, and the parser never holds
 * more than its limits allow. The properties: client_parser_fuzz.ts; a longer
 * run: `npm run fuzz -- <count>`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { FUZZ_MEMORY_BOUND, parserProperty, runParser } from "./client_parser_fuzz.js";

test("client parser: 100,000 fuzzed inputs, split anywhere, bounded memory", () => {
  fc.assert(parserProperty, { numRuns: 100_000 });
});

test("client parser: the memory bound is reached by a partial CONNECT and a split payload, not exceeded", () => {
  const partialConnect = runParser(new TextEncoder().encode(`CONNECT {"n":"${"x".repeat(100)}`), [10]);
  assert.equal(partialConnect.error, null);
  assert.ok(partialConnect.maxRetained <= FUZZ_MEMORY_BOUND && partialConnect.maxRetained >= 100);
  const payload = runParser(new TextEncoder().encode(`PUB a 256\r\n${"p".repeat(100)}`), [12]);
  assert.equal(payload.error, null);
  assert.equal(payload.maxRetained, 256);
});
