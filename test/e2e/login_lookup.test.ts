/**
 * `aaa-leafnode login` run as a child process finds its configuration where
 * `choria login` does and defers to a `choria-login` helper as Choria does:
 * with only `~/.mcollective` and a project `choria.conf` in a parent of the
 * working directory, a real login against the test AAA service uses the URL
 * from the project file and the token path from `~/.mcollective`; with a
 * `choria-login` program on the PATH, that program runs instead, with
 * `login` and every argument, the environment and standard input, and its
 * exit status is the command's.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { jwtVerify } from "jose";
import { runCli } from "../../src/devkit/cli_process.js";
import { startTestAaaService, type TestAaaService } from "../helpers/aaa_service.js";

const PASSWORD = "lookup-Pa55";

describe("aaa-leafnode login: configuration lookup and the choria-login helper", () => {
  let svc: TestAaaService;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "login-lookup-"));
    svc = await startTestAaaService({ users: { carol: { password: PASSWORD, permissions: { fleet_management: true } } } });
    writeFileSync(join(work, "pw"), PASSWORD + "\n");
  });
  after(async () => {
    await svc.close();
    rmSync(work, { recursive: true, force: true });
  });

  test("~/.mcollective and a project choria.conf in a parent directory: the project's URL, the user's token path", async () => {
    const home = join(work, "home-mco");
    const project = join(work, "project");
    const cwd = join(project, "deep", "er");
    mkdirSync(home, { recursive: true });
    mkdirSync(cwd, { recursive: true });
    // The user file points at a URL where nothing listens; the project file overrides it.
    writeFileSync(join(home, ".mcollective"), [
      "plugin.login.aaasvc.login.url = http://127.0.0.1:1/choria/v1/login",
      "plugin.choria.security.request_signer.token_file = ~/.choria/mco-token",
    ].join("\n") + "\n");
    writeFileSync(join(project, "choria.conf"), `plugin.login.aaasvc.login.url = ${svc.loginUrl}\n`);

    const r = await runCli(["login", "--user", "carol", "--password-file", join(work, "pw")], {
      cwd,
      env: { HOME: home, PATH: process.env.PATH },
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const tokenFile = join(home, ".choria", "mco-token");
    assert.match(r.stdout, new RegExp(`Logged in via ${svc.loginUrl.replace(/[.]/g, "\\.")}`));
    assert.ok(r.stdout.includes(`Token saved to ${tokenFile}`), r.stdout);
    const { payload } = await jwtVerify(readFileSync(tokenFile, "utf8"), svc.signerPublicKey);
    assert.equal(payload.callerid, "up=carol");
    assert.ok(existsSync(join(home, ".choria", "mco-token.key")));
  });

  test("without the project file the user's file is used as it is (and its URL fails, naming it)", async () => {
    const home = join(work, "home-only");
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, ".choriarc"), [
      "plugin.login.aaasvc.login.url = http://127.0.0.1:1/choria/v1/login",
      "plugin.choria.security.request_signer.token_file = ~/.choria/token",
    ].join("\n") + "\n");
    const r = await runCli(["login", "--user", "carol", "--password-file", join(work, "pw")], {
      cwd: home,
      env: { HOME: home, PATH: process.env.PATH },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /127\.0\.0\.1:1/);
    assert.equal(existsSync(join(home, ".choria", "token")), false);
  });

  test("a choria-login on the PATH does the login: same arguments after 'login', environment, stdin; its exit status", async () => {
    const bin = join(work, "helper-bin");
    mkdirSync(bin, { recursive: true });
    const record = join(work, "helper-record");
    writeFileSync(join(bin, "choria-login"), [
      "#!/bin/sh",
      `{ for a in "$@"; do printf '%s\\n' "$a"; done; printf 'HOME=%s\\n' "$HOME"; printf 'STDIN=%s\\n' "$(cat)"; } > "${record}"`,
      "echo 'helper says hello'",
      "echo 'helper warns' >&2",
      "exit 3",
    ].join("\n") + "\n");
    chmodSync(join(bin, "choria-login"), 0o755);
    const home = join(work, "home-helper");
    mkdirSync(home, { recursive: true });

    const r = await runCli(["login", "--config", "/nonexistent.conf", "--sso", "corp"], {
      env: { HOME: home, PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` },
      input: "from-stdin",
    });
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.equal(r.stdout, "helper says hello\n");
    assert.equal(r.stderr, "helper warns\n");
    assert.deepEqual(readFileSync(record, "utf8").split("\n"), [
      "login", "--config", "/nonexistent.conf", "--sso", "corp", `HOME=${home}`, "STDIN=from-stdin", "",
    ]);
  });

  test("a choria-login that is not executable, or in a relative PATH entry, is not used", async () => {
    const bin = join(work, "helper-noexec");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "choria-login"), "#!/bin/sh\nexit 7\n");
    chmodSync(join(bin, "choria-login"), 0o644);
    const rel = join(work, "relative");
    mkdirSync(join(rel, "bin"), { recursive: true });
    writeFileSync(join(rel, "bin", "choria-login"), "#!/bin/sh\nexit 8\n");
    chmodSync(join(rel, "bin", "choria-login"), 0o755);
    const r = await runCli(["login", "--bogus"], {
      cwd: rel,
      env: { HOME: rel, PATH: `bin${delimiter}${bin}${delimiter}${process.env.PATH ?? ""}` },
    });
    // The built-in login ran: it refuses the unknown flag.
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown argument '--bogus'/);
  });

  test("--help is answered by aaa-leafnode itself and names the lookup order and the helper", async () => {
    const r = await runCli(["login", "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /~\/\.choriarc, ~\/\.mcollective, \/etc\/choria\/client\.conf,\s+\/usr\/local\/etc\/choria\/client\.conf/);
    assert.match(r.stdout, /choria\.conf/);
    assert.match(r.stdout, /choria-login/);
  });
});
