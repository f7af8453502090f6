/**
 * `node build/test/fuzz/client_conn.js [count] [seed]`: the connection
 * properties (test/unit/conn/client_conn_fuzz.ts) for as many byte streams as
 * asked (default 100,000). Prints the seed, so a failure can be replayed.
 */
import fc from "fast-check";
import { closeFuzzWorld, connProperty } from "../unit/conn/client_conn_fuzz.js";

const count = Number(process.argv[2] ?? 100_000);
const seed = process.argv[3] !== undefined ? Number(process.argv[3]) : Date.now() ^ (Math.random() * 0x7fffffff);
if (!Number.isSafeInteger(count) || count <= 0) {
  console.error("usage: node build/test/fuzz/client_conn.js [count] [seed]");
  process.exit(2);
}
const started = process.hrtime.bigint();
console.log(`fuzzing a client connection: ${count} byte streams, seed ${seed}`);
try {
  await fc.assert(connProperty, { numRuns: count, seed });
} finally {
  closeFuzzWorld();
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`ok: ${count} byte streams in ${seconds.toFixed(1)} s (${Math.round(count / seconds)} per second)`);
