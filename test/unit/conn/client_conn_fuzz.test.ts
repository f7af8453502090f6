/**
 * Random byte streams through a whole connection (properties in
 * client_conn_fuzz.ts); a longer run: `node build/test/fuzz/client_conn.js <count>`.
 */
import { test } from "node:test";
import fc from "fast-check";
import { closeFuzzWorld, connProperty } from "./client_conn_fuzz.js";

test("client connection: 10,000 fuzzed byte streams, no exception, named closes, bounded, isolated", async () => {
  try {
    await fc.assert(connProperty, { numRuns: 10_000 });
  } finally {
    closeFuzzWorld();
  }
});
