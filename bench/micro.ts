/**
 * Micro-benchmarks of the two hot pure pieces, for optimisation work:
 * client and leafnode parser throughput (MB/s, msgs/s), sublist matches/s (cached and not) and
 * MSG/LMSG frames encoded per CPU second.
 * A script that prints figures, not a test: `npm run bench:micro`.
 */
import { runEncodeBench } from "./encode_bench.js";
import { runLeafParserBench, runParserBench } from "./parser_bench.js";
import { runSublistBench } from "./sublist_bench.js";

const parser = runParserBench();
const leafParser = runLeafParserBench();
const sublist = runSublistBench();
const encode = runEncodeBench();
console.log(JSON.stringify({ node: process.version, parser, leafParser, sublist, encode }, null, 2));
