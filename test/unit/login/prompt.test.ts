/**
 * Unit tests of the terminal prompts, driven through a fake TTY stream: the
 * password is never echoed, line editing works, Ctrl-C aborts and raw mode is
 * always restored; password files lose exactly one trailing line ending.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promptPassword, promptUser, readKeys, readPasswordFile } from "../../../src/login/prompt.js";
import { LoginErrorCode } from "../../../src/login/errors.js";

class FakeTty extends PassThrough {
  isTTY = true;
  rawModes: boolean[] = [];
  setRawMode(mode: boolean): this {
    this.rawModes.push(mode);
    return this;
  }
}

function output(): { text: string; write(s: string): void } {
  return { text: "", write(s: string) { this.text += s; } };
}

describe("prompts", () => {
  test("password: not echoed, backspace and escape sequences handled, raw mode restored", async () => {
    const tty = new FakeTty();
    const out = output();
    const p = promptPassword(tty, out);
    tty.write("sex\u007fcr\u001b[Det");
    tty.write("\r");
    assert.equal(await p, "secret");
    assert.equal(out.text, "Password: \n");
    assert.deepEqual(tty.rawModes, [true, false]);
  });

  test("user name: echoed, defaulting to $USER on an empty line", async () => {
    const tty = new FakeTty();
    const out = output();
    const p = promptUser(tty, out, "alice");
    tty.write("\n");
    assert.equal(await p, "alice");
    assert.equal(out.text, "Username [alice]: \n");
    const tty2 = new FakeTty();
    const out2 = output();
    const p2 = promptUser(tty2, out2, "alice");
    tty2.write("bob\r");
    assert.equal(await p2, "bob");
    assert.equal(out2.text, "Username [alice]: bob\n");
  });

  test("Ctrl-C aborts and restores the terminal", async () => {
    const tty = new FakeTty();
    const p = readKeys(tty, output(), "Password: ", false);
    tty.write("abc\u0003");
    await assert.rejects(p, { code: LoginErrorCode.Prompt, message: "interrupted" });
    assert.deepEqual(tty.rawModes, [true, false]);
  });

  test("an empty password is refused", async () => {
    const tty = new FakeTty();
    const p = promptPassword(tty, output());
    tty.write("\r");
    await assert.rejects(p, { code: LoginErrorCode.Prompt });
  });

  test("no terminal → refused with a pointer to the flags", async () => {
    await assert.rejects(readKeys(new PassThrough(), output(), "x", false), (err: Error) => /--password-file/.test(err.message));
  });
});

describe("readPasswordFile", () => {
  const cases: Array<[string, string]> = [
    ["secret\n", "secret"],
    ["secret\r\n", "secret"],
    ["secret", "secret"],
    [" spaced pass \n\n", " spaced pass \n"],
  ];
  for (const [content, expected] of cases) {
    test(`file ${JSON.stringify(content)}`, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), "login-pw-"));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, "pw"), content);
      assert.equal(await readPasswordFile(join(dir, "pw"), new PassThrough()), expected);
    });
  }
  test("'-' reads standard input", async () => {
    const stdin = new PassThrough();
    stdin.end("from-stdin\n");
    assert.equal(await readPasswordFile("-", stdin), "from-stdin");
  });
  test("empty and missing files are refused", async () => {
    const stdin = new PassThrough();
    stdin.end("\n");
    await assert.rejects(readPasswordFile("-", stdin), { code: LoginErrorCode.Prompt });
    await assert.rejects(readPasswordFile("/nonexistent/pw", new PassThrough()), (err: Error) => /ENOENT/.test(err.message));
  });
});
