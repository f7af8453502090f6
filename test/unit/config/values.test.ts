/**
 * The value types of broker.conf (config/schema.ts): Choria booleans, Go-style
 * durations, sizes with binary units, CIDR lists, leafnode URLs, and the
 * formatting back used by `aaa-leafnode check`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  formatDuration, formatSize, isCidr, parseDurationMs, parseSizeBytes, zBool, zCidrList, zLeafUrlList,
} from "../../../src/config/schema.js";

test("booleans: true/false, yes/no, on/off, 1/0 in any case", () => {
  const table: [string, boolean][] = [
    ["true", true], ["TRUE", true], ["yes", true], ["Yes", true], ["on", true], ["1", true],
    ["false", false], ["no", false], ["OFF", false], ["off", false], ["0", false],
  ];
  for (const [input, want] of table) assert.equal(zBool.parse(input), want, input);
  for (const bad of ["", "2", "y", "enabled", "truee"]) assert.equal(zBool.safeParse(bad).success, false, bad);
});

test("durations: Go style and plain seconds, in milliseconds", () => {
  const table: [string, number | undefined][] = [
    ["2s", 2000], ["500ms", 500], ["1m", 60_000], ["1h", 3_600_000], ["1m30s", 90_000], ["1.5s", 1500],
    ["2", 2000], ["0.5", 500], ["0", 0], ["10s500ms", 10_500],
    ["", undefined], ["s", undefined], ["2 s", undefined], ["-1s", undefined], ["5us", undefined], ["1d", undefined], ["abc", undefined],
  ];
  for (const [input, want] of table) assert.equal(parseDurationMs(input), want, input);
});

test("sizes: plain bytes and binary units", () => {
  const table: [string, number | undefined][] = [
    ["1024", 1024], ["1MB", 1048576], ["1MiB", 1048576], ["1M", 1048576], ["64KiB", 65536], ["64KB", 65536],
    ["64k", 65536], ["2GB", 2 * 1024 ** 3], ["512B", 512], ["1.5KB", 1536], ["10 MB", 10 * 1048576],
    ["", undefined], ["MB", undefined], ["1TB", undefined], ["-5", undefined], ["1 megabyte", undefined],
  ];
  for (const [input, want] of table) assert.equal(parseSizeBytes(input), want, input);
});

test("formatting durations and sizes round-trips through the parsers", () => {
  for (const ms of [0, 1, 500, 1000, 2000, 90_000, 60_000, 120_000, 3_600_000, 1_234]) {
    assert.equal(parseDurationMs(formatDuration(ms)), ms, `${ms} → ${formatDuration(ms)}`);
  }
  for (const b of [0, 1, 1000, 1024, 4096, 32768, 1048576, 67108864, 1536, 3 * 1024 ** 3]) {
    assert.equal(parseSizeBytes(formatSize(b)), b, `${b} → ${formatSize(b)}`);
  }
  assert.equal(formatDuration(120_000), "2m");
  assert.equal(formatSize(64 * 1048576), "64MiB");
});

test("CIDRs: IPv4 and IPv6 addresses and blocks", () => {
  const table: [string, boolean][] = [
    ["10.0.0.0/8", true], ["192.168.1.1", true], ["::1", true], ["2001:db8::/32", true], ["0.0.0.0/0", true],
    ["10.0.0.0/33", false], ["2001:db8::/129", false], ["10.0.0/8", false], ["example.com", false],
    ["10.0.0.0/", false], ["10.0.0.0/8/9", false], ["10.0.0.0/x", false],
  ];
  for (const [input, want] of table) assert.equal(isCidr(input), want, input);
  assert.deepEqual(zCidrList.parse(" 10.0.0.0/8 , ::1 "), ["10.0.0.0/8", "::1"]);
  const bad = zCidrList.safeParse("10.0.0.0/8, 300.1.1.1");
  assert.equal(bad.success, false);
  assert.match(bad.error!.issues[0]!.message, /300\.1\.1\.1/);
});

test("leafnode URLs: host:port or nats/tls scheme, port 7422 by default, normalized", () => {
  assert.deepEqual(zLeafUrlList.parse("nats://a.example:7422, b.example:7422,tls://[::1]:7422"), [
    "nats://a.example:7422", "nats://b.example:7422", "tls://[::1]:7422",
  ]);
  assert.deepEqual(zLeafUrlList.parse("nats://user:pw@a.example:7422"), ["nats://a.example:7422"]);
  assert.deepEqual(zLeafUrlList.parse("nats://a.example, b.example, nats-leaf://c.example:7000"), [
    "nats://a.example:7422", "nats://b.example:7422", "nats://c.example:7000",
  ]);
  for (const bad of ["wss://a.example:443", "ws://a.example:80", "http://a.example:80", "nats://", ""]) {
    assert.equal(zLeafUrlList.safeParse(bad).success, false, bad);
  }
});
