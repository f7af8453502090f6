/**
 * Terminal input for `aaa-leafnode login`: the user name (echoed, defaulting to
 * $USER like `choria login`) and the password (not echoed: the terminal is put
 * in raw mode and every key is handled here, so nothing is printed but the
 * prompt). Automation uses `--user` and `--password-file` instead; prompting is
 * refused when standard input is not a terminal, because a password typed into
 * a pipe would be echoed by whoever feeds it.
 */
import { readFile } from "node:fs/promises";
import { LoginError, LoginErrorCode } from "./errors.js";

/** The parts of process.stdin the prompts use (a fake in tests). */
export interface PromptInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface PromptOutput {
  write(chunk: string): unknown;
}

export function isTerminal(input: PromptInput): boolean {
  return input.isTTY === true && typeof input.setRawMode === "function";
}

/**
 * Reads keys in raw mode until Enter. `echo` false prints nothing for typed
 * characters. Ctrl-C and Ctrl-D (on an empty line) abort; Backspace and Ctrl-U
 * edit; escape sequences (arrow keys) are ignored.
 */
export function readKeys(input: PromptInput, output: PromptOutput, prompt: string, echo: boolean): Promise<string> {
  if (!isTerminal(input)) {
    return Promise.reject(new LoginError(LoginErrorCode.Prompt, "standard input is not a terminal; use --user and --password-file"));
  }
  output.write(prompt);
  return new Promise<string>((resolve, reject) => {
    let value = "";
    let inEscape = false;
    const finish = (err: LoginError | null): void => {
      input.removeListener("data", onData);
      input.setRawMode!(false);
      input.pause();
      output.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      const text = typeof chunk === "string" ? chunk : chunk.toString("utf8");
      for (const ch of text) {
        if (inEscape) {
          // CSI sequences end with a letter or '~'; a lone ESC + letter ends too.
          if (/[A-Za-z~]/.test(ch)) inEscape = false;
          continue;
        }
        switch (ch) {
          case "\r":
          case "\n":
            finish(null);
            return;
          case "\u0003":
            finish(new LoginError(LoginErrorCode.Prompt, "interrupted"));
            return;
          case "\u0004":
            if (value === "") {
              finish(new LoginError(LoginErrorCode.Prompt, "end of input at the prompt"));
              return;
            }
            break;
          case "\u007f":
          case "\b":
            if (value !== "") {
              value = Array.from(value).slice(0, -1).join("");
              if (echo) output.write("\b \b");
            }
            break;
          case "\u0015":
            if (echo) output.write("\b \b".repeat(Array.from(value).length));
            value = "";
            break;
          case "\u001b":
            inEscape = true;
            break;
          default:
            if (ch < " ") break;
            value += ch;
            if (echo) output.write(ch);
        }
      }
    };
    input.setRawMode!(true);
    input.on("data", onData);
    input.resume();
  });
}

export async function promptUser(input: PromptInput, output: PromptOutput, defaultUser: string | undefined): Promise<string> {
  const hint = defaultUser ? ` [${defaultUser}]` : "";
  const typed = (await readKeys(input, output, `Username${hint}: `, true)).trim();
  const user = typed !== "" ? typed : (defaultUser ?? "");
  if (user === "") throw new LoginError(LoginErrorCode.Prompt, "a user name is required");
  return user;
}

export async function promptPassword(input: PromptInput, output: PromptOutput): Promise<string> {
  const password = await readKeys(input, output, "Password: ", false);
  if (password === "") throw new LoginError(LoginErrorCode.Prompt, "a password is required");
  return password;
}

/** Everything on standard input (for `--password-file -`). */
export async function readAll(input: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/**
 * The password from a file or `-` (standard input): the content with one
 * trailing line ending removed, so `echo secret > f` works; anything else,
 * spaces included, is part of the password.
 */
export async function readPasswordFile(path: string, input: NodeJS.ReadableStream): Promise<string> {
  let raw: Buffer;
  try {
    raw = path === "-" ? await readAll(input) : await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "EIO";
    throw new LoginError(LoginErrorCode.Prompt, `cannot read password file ${path}: ${code}`, { cause: err });
  }
  const password = raw.toString("utf8").replace(/\r?\n$/, "");
  if (password === "") throw new LoginError(LoginErrorCode.Prompt, `password file ${path} is empty`);
  return password;
}
