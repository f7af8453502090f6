/**
 * Byte-exact tests for the encoders against the nats-server 2.9.10 formats in
 * docs/protocol.md (#connection-lifecycle INFO with its space before CRLF, #messages MSG/HMSG, #no-responders the
 * no-responders message, docs/protocol.md#error-catalogue -ERR), including the MSG/HMSG writer's bounds:
 * it must never write past the buffer and must say -1 when the line does not fit.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  encodeErr,
  encodeInfo,
  msgHeaderMaxBytes,
  msgHeadLineMaxBytes,
  MSG_HEAD_MAX_UNITS,
  MsgHead,
  NO_RESPONDERS_HEADER,
  OK,
  PING,
  PONG,
  writeMsgHeader,
  writeMsgHeaderFromHead,
} from "../../../src/protocol/encode.js";
import { pubViolation, WireText } from "../../../src/protocol/wire_text.js";
import fc from "fast-check";
import { writeLeafMsg } from "../../../src/protocol/leaf_encode.js";
import { WriteBuffer } from "../../../src/protocol/write_buffer.js";

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

describe("fixed encoders", () => {
  test("PING, PONG, +OK", () => {
    assert.equal(text(PING), "PING\r\n");
    assert.equal(text(PONG), "PONG\r\n");
    assert.equal(text(OK), "+OK\r\n");
  });

  test("INFO has a space before CRLF and keeps key order", () => {
    const info = { server_id: "NABC", server_name: "gw", version: "2.9.10", proto: 1, headers: true, max_payload: 1048576 };
    assert.equal(
      text(encodeInfo(info)),
      'INFO {"server_id":"NABC","server_name":"gw","version":"2.9.10","proto":1,"headers":true,"max_payload":1048576} \r\n',
    );
  });

  test("INFO escapes <, >, & and U+2028/9 as Go's encoding/json does", () => {
    assert.equal(text(encodeInfo({ s: "<a&b>\u2028\u2029é" })), 'INFO {"s":"\\u003ca\\u0026b\\u003e\\u2028\\u2029é"} \r\n');
  });

  test("-ERR wraps the text in single quotes", () => {
    const cases: Array<[string, string]> = [
      [WireText.UnknownOp, "-ERR 'Unknown Protocol Operation'\r\n"],
      [WireText.MaxControlLine, "-ERR 'maximum control line exceeded'\r\n"],
      [pubViolation("bar"), "-ERR 'Permissions Violation for Publish to \"bar\"'\r\n"],
    ];
    for (const [wire, expected] of cases) assert.equal(text(encodeErr(wire)), expected);
  });

  test("no-responders header block is the 16 bytes of docs/protocol.md#no-responders", () => {
    assert.equal(NO_RESPONDERS_HEADER.length, 16);
    assert.equal(text(NO_RESPONDERS_HEADER), "NATS/1.0 503\r\n\r\n");
  });
});

describe("writeMsgHeader", () => {
  const cases: Array<[name: string, args: [string, string, string | undefined, number, number], line: string]> = [
    ["MSG", ["foo", "1", undefined, -1, 5], "MSG foo 1 5\r\n"],
    ["MSG with reply", ["up.y", "3", "reply.here", -1, 2], "MSG up.y 3 reply.here 2\r\n"],
    ["MSG empty payload", ["foo.a", "3", "$GNR.x", -1, 0], "MSG foo.a 3 $GNR.x 0\r\n"],
    ["HMSG", ["foo", "1", undefined, 18, 23], "HMSG foo 1 18 23\r\n"],
    ["HMSG no-responders", ["reply.x", "9", undefined, 16, 16], "HMSG reply.x 9 16 16\r\n"],
    ["HMSG with reply, zero header", ["a", "b", "c", 0, 0], "HMSG a b c 0 0\r\n"],
    ["sizes with many digits", ["s", "10", undefined, -1, 1048576], "MSG s 10 1048576\r\n"],
    ["large sizes", ["s", "10", undefined, 9999999, 1234567890], "HMSG s 10 9999999 1234567890\r\n"],
    ["UTF-8 subject and reply", ["héllo.日本", "7", "r.ü", -1, 3], "MSG héllo.日本 7 r.ü 3\r\n"],
    ["long ASCII subject", ["a.".repeat(60) + "z", "1", undefined, -1, 1], `MSG ${"a.".repeat(60)}z 1 1\r\n`],
    ["long UTF-8 subject", ["ü.".repeat(50) + "z", "1", undefined, -1, 1], `MSG ${"ü.".repeat(50)}z 1 1\r\n`],
  ];
  for (const [name, [subject, sid, reply, hdr, total], line] of cases) {
    test(name, () => {
      const buf = Buffer.alloc(512, 0xee);
      const end = writeMsgHeader(buf, 7, subject, sid, reply, hdr, total);
      const expected = Buffer.from(line, "utf8");
      assert.equal(end, 7 + expected.length);
      assert.deepEqual(buf.subarray(7, end), expected);
      assert.ok(buf.subarray(0, 7).every((b) => b === 0xee), "bytes before offset untouched");
      assert.ok(buf.subarray(end).every((b) => b === 0xee), "bytes after the line untouched");
      assert.ok(msgHeaderMaxBytes(subject, sid, reply) >= expected.length, "bound holds");
    });
  }

  test("the no-responders message matches the 2.9.10 transcript byte for byte", () => {
    const buf = Buffer.alloc(64);
    let o = writeMsgHeader(buf, 0, "reply.x", "9", undefined, 16, 16);
    buf.set(NO_RESPONDERS_HEADER, o);
    o += NO_RESPONDERS_HEADER.length;
    o += buf.write("\r\n", o);
    assert.equal(buf.subarray(0, o).toString(), "HMSG reply.x 9 16 16\r\nNATS/1.0 503\r\n\r\n\r\n");
  });

  test("returns -1 when the line does not fit, without writing past the buffer", () => {
    const backing = Buffer.alloc(40, 0xee);
    const buf = backing.subarray(0, 20);
    assert.equal(writeMsgHeader(buf, 0, "a.long.subject.name", "1", "reply.subject", -1, 100), -1);
    assert.ok(backing.subarray(20).every((b) => b === 0xee));
    assert.equal(writeMsgHeader(Buffer.alloc(10), 8, "foo", "1", undefined, -1, 5), -1);
  });

  test("a line that fits exactly is written even though the cheap bound says no", () => {
    const line = "HMSG héllo 12 r 100 2000\r\n";
    const need = Buffer.byteLength(line);
    assert.ok(msgHeaderMaxBytes("héllo", "12", "r") > need);
    const buf = Buffer.alloc(need + 3);
    assert.equal(writeMsgHeader(buf, 3, "héllo", "12", "r", 100, 2000), need + 3);
    assert.equal(buf.subarray(3).toString(), line);
    assert.equal(writeMsgHeader(Buffer.alloc(need + 2), 3, "héllo", "12", "r", 100, 2000), -1);
  });
});

describe("MsgHead and writeMsgHeaderFromHead", () => {
  /** One delivery as ClientConn writes it: the kept head when there is one, else the strings (and note them). */
  function deliver(head: MsgHead, routed: string, shown: string, sid: string, reply: string | undefined, hdr: number, total: number): { line: string; kept: boolean } {
    const buf = Buffer.alloc(4096, 0xee);
    const kept = head.get(routed);
    let end: number;
    if (kept !== null) {
      end = writeMsgHeaderFromHead(buf, 5, kept, reply, hdr, total);
      assert.ok(msgHeadLineMaxBytes(kept, reply) >= end - 5, "bound holds");
    } else {
      end = writeMsgHeader(buf, 5, shown, sid, reply, hdr, total);
      head.note(routed, shown);
    }
    assert.ok(buf.subarray(0, 5).every((b) => b === 0xee) && buf.subarray(end).every((b) => b === 0xee), "nothing written outside the line");
    return { line: buf.subarray(5, end).toString("utf8"), kept: kept !== null };
  }

  test("kept from a subject's second delivery in a row, dropped when the subject changes", () => {
    const head = new MsgHead("7");
    const kept = ["a.1", "a.1", "a.1", "b", "a.1", "a.1", "a.1"].map((s) => deliver(head, `ns.${s}`, s, "7", undefined, -1, 3));
    assert.deepEqual(kept.map((d) => d.kept), [false, false, true, false, false, false, true]);
    assert.deepEqual(kept.map((d) => d.line), ["a.1", "a.1", "a.1", "b", "a.1", "a.1", "a.1"].map((s) => `MSG ${s} 7 3\r\n`));
  });

  test("a new subject every time keeps nothing", () => {
    const head = new MsgHead("1");
    for (let k = 0; k < 50; k++) assert.equal(deliver(head, `s.${k}`, `s.${k}`, "1", undefined, -1, 1).kept, false);
  });

  test("a head longer than MSG_HEAD_MAX_UNITS is never kept; one at the limit is", () => {
    // With the sid "12" and its two blanks, `fits` is exactly at the limit and `over` one unit past it.
    const fits = "x".repeat(MSG_HEAD_MAX_UNITS - 4);
    const over = "x".repeat(MSG_HEAD_MAX_UNITS - 3);
    for (const [subject, keep] of [[fits, true], [over, false]] as const) {
      const head = new MsgHead("12");
      const lines = [0, 1, 2, 3].map(() => deliver(head, subject, subject, "12", "r", 2, 9));
      assert.equal(lines[3]!.kept, keep, `${subject.length} units`);
      for (const d of lines) assert.equal(d.line, `HMSG ${subject} 12 r 2 9\r\n`);
    }
  });

  test("property: any run of deliveries writes the lines the strings would, whatever is kept", () => {
    const token = fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" }).filter((s) => !/\s/.test(s));
    fc.assert(fc.property(
      fc.array(token, { minLength: 1, maxLength: 4 }), token,
      fc.array(fc.record({ pick: fc.nat(), reply: fc.option(token, { nil: undefined }), hdr: fc.integer({ min: -1, max: 20 }), total: fc.integer({ min: 20, max: 100_000 }) }), { maxLength: 30 }),
      (subjects, sid, deliveries) => {
        const head = new MsgHead(sid);
        for (const d of deliveries) {
          const shown = subjects[d.pick % subjects.length]!;
          const got = deliver(head, `ns.${shown}`, shown, sid, d.reply, d.hdr, d.total).line;
          const r = d.reply === undefined ? "" : `${d.reply} `;
          assert.equal(got, d.hdr >= 0 ? `HMSG ${shown} ${sid} ${r}${d.hdr} ${d.total}\r\n` : `MSG ${shown} ${sid} ${r}${d.total}\r\n`);
        }
      },
    ), { numRuns: 2000 });
  });
});

describe("writeLeafMsg (property)", () => {
  // The byte-by-byte LMSG/HMSG writer must equal the obvious string-built frame for any strings,
  // including non-ASCII, long ones (the utf8Write path) and many queues, across chunk boundaries.
  const token = fc.string({ minLength: 1, maxLength: 90, unit: "grapheme" }).filter((s) => !/[\s]/.test(s));
  test("equals the string-built frame for any subject, reply, queues, header size and payload", () => {
    fc.assert(fc.property(
      token, fc.option(token, { nil: undefined }), fc.option(fc.array(token, { minLength: 0, maxLength: 5 }), { nil: null }),
      fc.integer({ min: -1, max: 300 }), fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 40 }),
      (subject, reply, queues, hdr, payload, before) => {
        const hdrLen = hdr > payload.length ? -1 : hdr;
        const wb = new WriteBuffer();
        wb.writeBytes(new Uint8Array(before * 50)); // start at varying offsets, sometimes near a chunk end
        writeLeafMsg(wb, subject, reply, queues, hdrLen, payload);
        const got = Buffer.concat(wb.take()).subarray(before * 50);
        const q = queues !== null && queues.length > 0;
        const mid = q ? (reply !== undefined ? ` + ${reply}` : " |") + queues.map((x) => ` ${x}`).join("") : reply !== undefined ? ` ${reply}` : "";
        const sizes = hdrLen > 0 ? ` ${hdrLen} ${payload.length}` : ` ${payload.length}`;
        const want = Buffer.concat([Buffer.from(`${hdrLen > 0 ? "HMSG" : "LMSG"} ${subject}${mid}${sizes}\r\n`, "utf8"), payload, Buffer.from("\r\n")]);
        assert.deepEqual(got, want);
      },
    ), { numRuns: 2000 });
  });
});
