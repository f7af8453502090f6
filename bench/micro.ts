/**
 * Micro-benchmarks of the two hot pure pieces, for optimisation work:
 * parser throughput (MB/s, msgs/s), sublist matches/s (cached and not) and
 * MSG/LMSG frames encoded per CPU second.
 * A script that prints figures, not a test: `npm run bench:micro`.
 */
import { runEncodeBench } from "./encode_bench.js";
import { runParserBench } from "./parser_bench.js";
import { runSublistBench } from "./sublist_bench.js";

const parser = runParserBench();
const sublist = runSublistBench();
const encode = runEncodeBench();
console.log(JSON.stringify({ node: process.version, parser, sublist, encode }, null, 2));
