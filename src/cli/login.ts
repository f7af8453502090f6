/**
 * The `login` entry of the command table: the AAA login flow itself lives in
 * src/login/command.ts; this only adapts the CLI's I/O to it (the terminal for
 * the password prompt, the environment for $USER and the default paths).
 */
import { loginUsage, runLoginCommand } from "../login/command.js";
import type { CliIo } from "./io.js";

export const loginHelp = loginUsage.trimEnd();

export function loginCommand(argv: string[], io: CliIo): Promise<number> {
  return runLoginCommand(argv, { stdin: process.stdin, stdout: io.stdout, stderr: io.stderr, env: process.env });
}
