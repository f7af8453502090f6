/**
 * Structured JSON logging, one object per line. A Logger carries fields that
 * grow as facts are established (remote, then caller id), so every later line
 * of a connection names who it is about (go-choria's per-connection logrus
 * fields). The audit log is a Logger of its own that may write to its own file.
 */
import { createWriteStream, type WriteStream } from "node:fs";

export type LogLevel = "debug" | "info" | "warn" | "error";
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

/** Where formatted lines go. */
export interface LogSink {
  write(line: string): void;
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines all carry `fields` too. */
  child(fields: LogFields): Logger;
  /** Whether debug lines are written (check before building costly fields). */
  readonly debugEnabled: boolean;
}

/** Shared, reloadable level so SIGHUP can change it for every child at once. */
export class LevelControl {
  level: LogLevel;
  constructor(level: LogLevel) {
    this.level = level;
  }
}

class JsonLogger implements Logger {
  constructor(
    private readonly sink: LogSink,
    private readonly control: LevelControl,
    private readonly fields: LogFields,
  ) {}

  get debugEnabled(): boolean {
    return rank[this.control.level] <= rank.debug;
  }

  private emit(level: LogLevel, msg: string, extra?: LogFields): void {
    if (rank[level] < rank[this.control.level]) return;
    const rec: LogFields = { time: new Date().toISOString(), level, msg, ...this.fields, ...extra };
    this.sink.write(JSON.stringify(rec, errorReplacer) + "\n");
  }

  debug(msg: string, fields?: LogFields): void { this.emit("debug", msg, fields); }
  info(msg: string, fields?: LogFields): void { this.emit("info", msg, fields); }
  warn(msg: string, fields?: LogFields): void { this.emit("warn", msg, fields); }
  error(msg: string, fields?: LogFields): void { this.emit("error", msg, fields); }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.sink, this.control, { ...this.fields, ...fields });
  }
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return code !== undefined ? { message: value.message, code } : value.message;
  }
  return value;
}

export function createLogger(sink: LogSink, control: LevelControl, fields: LogFields = {}): Logger {
  return new JsonLogger(sink, control, fields);
}

/** Logs to stderr (the default: stdout is for command output). */
export const stderrSink: LogSink = { write: (line) => void process.stderr.write(line) };

/** Logs to standard output (Choria's `logfile = stdout`). */
const stdoutSink: LogSink = { write: (line) => void process.stdout.write(line) };

/** Drops every line (Choria's `logfile = discard`). */
const discardSink: LogSink = { write: () => {} };

/** The sink a configured log target names: stdout, stderr, discard, or a file (config/parts.ts logTarget). */
export function sinkFor(target: { kind: "stdout" | "stderr" | "discard" } | { kind: "file"; path: string }): LogSink {
  switch (target.kind) {
    case "stdout": return stdoutSink;
    case "stderr": return stderrSink;
    case "discard": return discardSink;
    case "file": return fileSink(target.path);
  }
}

/** Logs appended to a file. */
export function fileSink(path: string): LogSink & { close(): void } {
  const stream: WriteStream = createWriteStream(path, { flags: "a", mode: 0o640 });
  return { write: (line) => void stream.write(line), close: () => stream.end() };
}

/** Collects lines in memory (tests read them back). */
export class MemorySink implements LogSink {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
  records(): LogFields[] {
    return this.lines.map((l) => JSON.parse(l) as LogFields);
  }
}

/** A logger that drops everything. */
export const nullLogger: Logger = createLogger({ write: () => {} }, new LevelControl("error"), {});
