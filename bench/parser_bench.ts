/**
 * Micro-benchmark of the protocol parsers. The client parser parses a large buffer of
 * realistic PUB traffic (Choria-like subjects, every third message a request
 * with an _INBOX reply) in 64 KiB reads, as a socket would deliver it, into a
 * no-op sink, and reports MB/s and messages/s per second of CPU time. Two variants: 128-byte payloads
 * (the figure runParserBench returns) and 1 KiB payloads. The leafnode parser
 * gets the same treatment on hub replies (LMSG to Choria reply subjects, 512 B,
 * 16 KiB reads). It also times the
 * MSG/HMSG line writer against the obvious string-concatenation version, which
 * is how writeMsgHeader's byte-by-byte design was chosen. Run directly with
 * `node build/bench/parser_bench.js`.
 */

import { pathToFileURL } from "node:url";
import { ClientParser, DEFAULT_PARSER_LIMITS } from "../src/protocol/client_parser.js";
import type { ClientOpSink } from "../src/protocol/client_parser.js";
import { writeMsgHeader } from "../src/protocol/encode.js";
import { LeafParser, type LeafOpSink } from "../src/protocol/leaf_parser.js";

export interface ParserBenchResult {
  mbPerSec: number;
  opsPerSec: number;
}

export interface ParserBenchOptions {
  /** Payload size of every PUB (default 128). */
  payloadBytes?: number;
  /** Minimum measuring CPU time in milliseconds (default 1500). */
  minMillis?: number;
  /** Size of each read handed to parse() (default 64 KiB). */
  readBytes?: number;
}

/** Counts ops and touches the arguments so the work cannot be optimised away. */
class CountingSink implements ClientOpSink {
  msgs = 0;
  bytes = 0;
  connect(): void {}
  pub(subject: string, reply: string | undefined, _hdrLen: number, payload: Uint8Array): void {
    this.msgs++;
    this.bytes += payload.length + subject.length + (reply === undefined ? 0 : 1);
  }
  sub(): void {}
  unsub(): void {}
  ping(): void {}
  pong(): void {}
}

/**
 * About 4 MiB of messages: `line(k)` is message k's control line, each followed
 * by a payload of `payloadBytes` and CRLF. Returns the bytes and how many messages they hold.
 */
function buildTraffic(payloadBytes: number, line: (k: number) => string): { traffic: Buffer; msgs: number } {
  const payload = Buffer.alloc(payloadBytes, "x");
  const parts: Buffer[] = [];
  let size = 0;
  let msgs = 0;
  while (size < 4 * 1024 * 1024) {
    const head = Buffer.from(line(msgs), "latin1");
    parts.push(head, payload, Buffer.from("\r\n"));
    size += head.length + payloadBytes + 2;
    msgs++;
  }
  return { traffic: Buffer.concat(parts), msgs };
}

const PUB_SUBJECTS = ["choria.broadcast.agent.rpcutil", "mcollective.node.web01.example.net", "choria.machine.watcher.state"];

/** PUB traffic: Choria-like subjects, every third message a request with an _INBOX reply. */
function pubLine(payloadBytes: number): (k: number) => string {
  return (k) => {
    const subject = PUB_SUBJECTS[k % PUB_SUBJECTS.length];
    return k % 3 === 0 ? `PUB ${subject} _INBOX.Xk2Rb7LpQ0aZc8e1.${k} ${payloadBytes}\r\n` : `PUB ${subject} ${payloadBytes}\r\n`;
  };
}

export function runParserBench(options: ParserBenchOptions = {}): ParserBenchResult {
  const payloadBytes = options.payloadBytes ?? 128;
  const { traffic, msgs } = buildTraffic(payloadBytes, pubLine(payloadBytes));
  const sink = new CountingSink();
  const parser = new ClientParser(sink, DEFAULT_PARSER_LIMITS);
  return measureParse(traffic, msgs, options, (chunk) => parser.parse(chunk), () => sink.msgs);
}

/** Counts hub messages and touches their arguments, as CountingSink does for PUBs. */
class CountingLeafSink implements LeafOpSink {
  msgs = 0;
  bytes = 0;
  info(): void {}
  lsPlus(): void {}
  lsMinus(): void {}
  msg(subject: string, reply: string | undefined, _queues: string[] | null, _hdrLen: number, payload: Uint8Array): void {
    this.msgs++;
    this.bytes += payload.length + subject.length + (reply === undefined ? 0 : 1);
  }
  ping(): void {}
  pong(): void {}
  ok(): void {}
  err(): void {}
}

/** Hub → leaf replies as a fan-in brings them: LMSG to the Choria reply subjects of 200 callers. */
function leafReplyLine(payloadBytes: number): (k: number) => string {
  return (k) => `LMSG choria.reply.${(k % 200).toString(16).padStart(32, "0")}.${1000 + (k % 5)} ${payloadBytes}\r\n`;
}

/** The leafnode parser on hub replies, in 16 KiB reads (what a TLS socket hands over). */
export function runLeafParserBench(options: ParserBenchOptions = {}): ParserBenchResult {
  const payloadBytes = options.payloadBytes ?? 512;
  const { traffic, msgs } = buildTraffic(payloadBytes, leafReplyLine(payloadBytes));
  const sink = new CountingLeafSink();
  const parser = new LeafParser(sink);
  return measureParse(traffic, msgs, { readBytes: 16 * 1024, ...options }, (chunk) => parser.parse(chunk), () => sink.msgs);
}

/** Parses `traffic` in reads until `minMillis` of CPU time has passed, after a warm-up; checks every message arrived. */
function measureParse(traffic: Buffer, msgs: number, options: ParserBenchOptions, parse: (chunk: Buffer) => void, parsed: () => number): ParserBenchResult {
  const minMillis = options.minMillis ?? 1500;
  const readBytes = options.readBytes ?? 64 * 1024;
  const parseAll = () => {
    for (let at = 0; at < traffic.length; at += readBytes) {
      parse(traffic.subarray(at, Math.min(at + readBytes, traffic.length)));
    }
  };
  // Warm up so the JIT has settled before the clock starts.
  for (let i = 0; i < 3; i++) parseAll();
  // Process CPU time, not wall time: on a shared CI box other jobs steal the CPU,
  // and the parser is synchronous, so CPU time is the cost we want.
  let rounds = 0;
  const start = process.cpuUsage();
  let elapsedMs = 0;
  do {
    parseAll();
    rounds++;
    const used = process.cpuUsage(start);
    elapsedMs = (used.user + used.system) / 1000;
  } while (elapsedMs < minMillis);
  if (parsed() !== msgs * (rounds + 3)) throw new Error(`bench parsed ${parsed()} messages, expected ${msgs * (rounds + 3)}`);
  const seconds = elapsedMs / 1000;
  return {
    mbPerSec: (traffic.length * rounds) / (1024 * 1024) / seconds,
    opsPerSec: (msgs * rounds) / seconds,
  };
}

/** MSG lines written per CPU second: writeMsgHeader, and a concat-then-utf8Write baseline. */
export function runMsgHeaderBench(minMillis = 1000): { writerPerSec: number; concatPerSec: number } {
  const out = Buffer.allocUnsafe(1 << 20);
  const subjects = ["choria.broadcast.agent.rpcutil", "mcollective.node.web01.example.net", "_INBOX.Xk2Rb7LpQ0aZc8e1.17"];
  const writer = (o: number, k: number) => writeMsgHeader(out, o, subjects[k % 3], "12", k % 2 ? "_INBOX.x.1" : undefined, -1, 128);
  const concat = (o: number, k: number) => {
    const reply = k % 2 ? "_INBOX.x.1" : undefined;
    const line = reply === undefined ? `MSG ${subjects[k % 3]} 12 128\r\n` : `MSG ${subjects[k % 3]} 12 ${reply} 128\r\n`;
    return o + out.write(line, o, "utf8");
  };
  const rate = (write: (o: number, k: number) => number) => {
    let lines = 0;
    let o = 0;
    const start = process.cpuUsage();
    let ms = 0;
    do {
      for (let k = 0; k < 10_000; k++) {
        o = write(o, k);
        if (o > out.length - 256) o = 0;
      }
      lines += 10_000;
      const used = process.cpuUsage(start);
      ms = (used.user + used.system) / 1000;
    } while (ms < minMillis);
    return lines / (ms / 1000);
  };
  rate(writer);
  rate(concat);
  return { writerPerSec: rate(writer), concatPerSec: rate(concat) };
}

function report(label: string, r: ParserBenchResult): void {
  console.log(`parser ${label}: ${r.mbPerSec.toFixed(1)} MB/s, ${Math.round(r.opsPerSec).toLocaleString("en-US")} msgs/s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  report("PUB 128 B", runParserBench({ payloadBytes: 128 }));
  report("PUB 1 KiB", runParserBench({ payloadBytes: 1024 }));
  report("leaf LMSG 512 B (hub replies)", runLeafParserBench());
  const msg = runMsgHeaderBench();
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  console.log(`writeMsgHeader: ${fmt(msg.writerPerSec)} lines/s (string concat + write: ${fmt(msg.concatPerSec)} lines/s)`);
}
