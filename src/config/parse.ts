/**
 * The Choria configuration file format, and nothing else: one `key = value`
 * per line, split at the first `=`, both sides trimmed; lines starting with `#`
 * and blank lines are ignored. Every key keeps its line number so that later
 * checks can name file, line and key. Problems are collected rather than thrown
 * so one run reports them all: a line without `=` is a ConfigError, and a
 * repeated key is a warning (the last one wins, as in Choria).
 */
import { ConfigError } from "../errors.js";
import type { ConfigWarning } from "./types.js";

export interface ConfEntry {
  key: string;
  value: string;
  line: number;
  /** The file it came from when not the main configuration file (plugin.d). */
  file?: string;
}

export interface ParsedConf {
  file: string;
  /** Keys in file order of their first appearance; the value is the last one given. */
  entries: Map<string, ConfEntry>;
  warnings: ConfigWarning[];
  errors: ConfigError[];
}

/** Splits broker.conf text into keyed entries with line numbers. Pure; no I/O. */
export function parseBrokerConf(text: string, file: string): ParsedConf {
  const entries = new Map<string, ConfEntry>();
  const warnings: ConfigWarning[] = [];
  const errors: ConfigError[] = [];
  // Tolerate a UTF-8 byte order mark and CRLF files written on Windows.
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const trimmed = lines[i]!.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const eq = trimmed.indexOf("=");
    if (eq < 0) {
      errors.push(new ConfigError(`not a "key = value" line: ${JSON.stringify(snippet(trimmed))}`, { file, line: lineNo }));
      continue;
    }
    const key = trimmed.slice(0, eq).trim();
    const value = trimmed.slice(eq + 1).trim();
    if (key === "") {
      errors.push(new ConfigError("a line has a value but no key", { file, line: lineNo }));
      continue;
    }
    const earlier = entries.get(key);
    if (earlier) {
      warnings.push({
        file,
        line: lineNo,
        key,
        message: `set again (first set on line ${earlier.line}); the value on line ${lineNo} wins`,
      });
      // Keep the first position so error order follows the file, but the last value.
      earlier.value = value;
      earlier.line = lineNo;
      continue;
    }
    entries.set(key, { key, value, line: lineNo });
  }
  return { file, entries, warnings, errors };
}

function snippet(s: string): string {
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}
