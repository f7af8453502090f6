/**
 * Micro-benchmarks of the two hot pure pieces, for optimisation work:
 * parser throughput (MB/s, msgs/s) and sublist matches/s (cached and not).
 * A script that prints figures, not a test: `npm run bench:micro`.
 */
import { runParserBench } from "./parser_bench.js";
import { runSublistBench } from "./sublist_bench.js";

const parser = runParserBench();
const sublist = runSublistBench();
console.log(JSON.stringify({ node: process.version, parser, sublist }, null, 2));
