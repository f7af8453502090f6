/**
 * `npm run fuzz -- [count] [seed]`: the client parser properties
 * (test/unit/protocol/client_parser_fuzz.ts) for as many inputs as asked
 * (default 1,000,000). Prints the seed, so a failure can be replayed.
 */
import fc from "fast-check";
import { parserProperty } from "../unit/protocol/client_parser_fuzz.js";

const count = Number(process.argv[2] ?? 1_000_000);
const seed = process.argv[3] !== undefined ? Number(process.argv[3]) : Date.now() ^ (Math.random() * 0x7fffffff);
if (!Number.isSafeInteger(count) || count <= 0) {
  console.error("usage: npm run fuzz -- [count] [seed]");
  process.exit(2);
}
const started = process.hrtime.bigint();
console.log(`fuzzing the client parser: ${count} inputs, seed ${seed}`);
fc.assert(parserProperty, { numRuns: count, seed });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`ok: ${count} inputs in ${seconds.toFixed(1)} s (${Math.round(count / seconds)} per second)`);
