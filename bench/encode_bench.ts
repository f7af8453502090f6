/**
 * Micro-benchmark of the outbound encoders on the delivery and upstream hot
 * paths: MSG frames into a client's Outbound batch (WriteBuffer + MSG line +
 * payload) and LMSG frames into the leafnode link's batch (writeLeafMsg), with
 * Choria-like subjects (a reply for every message, queue groups on every
 * fourth LMSG). It reports frames per second of CPU time, taking a batch every
 * 64 frames the way a flush per tick would. Run directly with
 * `node build/bench/encode_bench.js`; `npm run bench:micro` includes it.
 */
import { pathToFileURL } from "node:url";
import { msgHeaderMaxBytes, writeMsgHeader } from "../src/protocol/encode.js";
import { writeLeafMsg } from "../src/protocol/leaf_encode.js";
import { WriteBuffer } from "../src/protocol/write_buffer.js";

export interface EncodeBenchResult {
  msgFramesPerSec: number;
  leafFramesPerSec: number;
}

const SUBJECTS = Array.from({ length: 64 }, (_, i) => `choria.reply.9f86d081884c7d659a2feaa0c55ad015.${i}a7c3e1`);
const REPLIES = Array.from({ length: 64 }, (_, i) => `choria.broadcast.agent.rpcutil.${i}`);
const QUEUES = [["choria.queue"]];

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function measure(minMillis: number, frame: (wb: WriteBuffer, i: number) => void): number {
  const wb = new WriteBuffer();
  let frames = 0;
  let sink = 0;
  const start = cpuMs();
  let elapsed = 0;
  while (elapsed < minMillis) {
    for (let i = 0; i < 64 * 64; i++) {
      frame(wb, i);
      if ((i & 63) === 63) sink += wb.take().length;
    }
    frames += 64 * 64;
    elapsed = cpuMs() - start;
  }
  if (sink < 0) console.log(sink);
  return frames / (elapsed / 1000);
}

export function runEncodeBench(minMillis = 1500): EncodeBenchResult {
  const payload = new Uint8Array(512).fill(0x61);
  const msg = (wb: WriteBuffer, i: number): void => {
    const subject = SUBJECTS[i & 63]!;
    const reply = REPLIES[i & 63];
    const at = wb.reserve(msgHeaderMaxBytes(subject, "12", reply));
    wb.advance(writeMsgHeader(wb.current, at, subject, "12", reply, -1, payload.length) - at);
    wb.writeBytes(payload);
    wb.writeCrlf();
  };
  const leaf = (wb: WriteBuffer, i: number): void => {
    writeLeafMsg(wb, REPLIES[i & 63]!, SUBJECTS[i & 63], (i & 3) === 0 ? QUEUES[0]! : null, -1, payload);
  };
  // Warm up both paths before measuring either.
  measure(200, msg);
  measure(200, leaf);
  return { msgFramesPerSec: measure(minMillis, msg), leafFramesPerSec: measure(minMillis, leaf) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.log(JSON.stringify(runEncodeBench(), null, 2));
}
