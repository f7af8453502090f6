/**
 * Unit tests of the login command's client-config reader: the `key = value`
 * format, which config file is used, and how the token and seed paths resolve
 * (go-choria's precedence, `<token without extension>.key`, `~` expansion).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseKeyValue, resolveLoginSettings, seedFileFor, expandHome, loadClientConfig, defaultConfigCandidates, ConfigKeys } from "../../../src/login/client_config.js";
import { LoginError, LoginErrorCode } from "../../../src/login/errors.js";

describe("parseKeyValue", () => {
  test("splits at the first '=', trims, skips comments and blanks; later lines win", () => {
    const m = parseKeyValue("# comment\n\n  a.b = x=y  \nc=1\r\nc = 2\n   # indented comment\nempty =\n", "f.conf");
    assert.equal(m.get("a.b"), "x=y");
    assert.equal(m.get("c"), "2");
    assert.equal(m.get("empty"), "");
    assert.equal(m.size, 3);
  });

  test("a line without '=' names file and line", () => {
    assert.throws(() => parseKeyValue("a = 1\nbogus\n", "/x/client.conf"), (err: unknown) => {
      assert.ok(err instanceof LoginError);
      assert.equal(err.code, LoginErrorCode.Config);
      assert.match(err.message, /\/x\/client\.conf:2/);
      return true;
    });
  });
});

describe("seedFileFor", () => {
  const cases: Array<[string, string]> = [
    ["/home/u/.choria/token", "/home/u/.choria/token.key"],
    ["/home/u/.choria/token.jwt", "/home/u/.choria/token.key"],
    ["/a.b/c.d.jwt", "/a.b/c.d.key"],
    ["/home/u/.choria/.token", "/home/u/.choria/.token.key"],
  ];
  for (const [token, seed] of cases) {
    test(`${token} → ${seed}`, () => assert.equal(seedFileFor(token), seed));
  }
});

describe("expandHome", () => {
  test("expands ~ and ~/ only", () => {
    assert.equal(expandHome("~/.choria/token", "/home/u"), "/home/u/.choria/token");
    assert.equal(expandHome("~", "/home/u"), "/home/u");
    assert.equal(expandHome("/etc/x", "/home/u"), "/etc/x");
    assert.equal(expandHome("~other/x", "/home/u"), "~other/x");
  });
  test("~ without HOME is an error", () => {
    assert.throws(() => expandHome("~/x", undefined), { code: LoginErrorCode.Config });
  });
});

describe("resolveLoginSettings", () => {
  const base = (entries: Record<string, string>) => new Map(Object.entries(entries));

  test("URLs are a comma list; seed defaults to <token>.key", () => {
    const s = resolveLoginSettings(base({
      [ConfigKeys.loginUrls]: "https://a:8080/choria/v1/login, https://b:8080/choria/v1/login,",
      [ConfigKeys.signerTokenFile]: "~/.choria/token.jwt",
    }), {}, "/home/u", "cfg");
    assert.deepEqual(s.urls, ["https://a:8080/choria/v1/login", "https://b:8080/choria/v1/login"]);
    assert.equal(s.tokenFile, "/home/u/.choria/token.jwt");
    assert.equal(s.seedFile, "/home/u/.choria/token.key");
  });

  test("the choria provider's files win over request_signer's; an explicit seed file is used", () => {
    const s = resolveLoginSettings(base({
      [ConfigKeys.loginUrls]: "https://a/choria/v1/login",
      [ConfigKeys.signerTokenFile]: "/r/token",
      [ConfigKeys.choriaTokenFile]: "/c/token",
      [ConfigKeys.signerSeedFile]: "/r/seed",
    }), {}, "/home/u", "cfg");
    assert.equal(s.tokenFile, "/c/token");
    assert.equal(s.seedFile, "/r/seed");
  });

  test("command-line overrides win", () => {
    const s = resolveLoginSettings(base({ [ConfigKeys.loginUrls]: "https://a/", [ConfigKeys.signerTokenFile]: "/r/token" }),
      { urls: ["http://127.0.0.1:1/choria/v1/login"], tokenFile: "/o/t.jwt", seedFile: "/o/s" }, "/home/u", "cfg");
    assert.deepEqual(s.urls, ["http://127.0.0.1:1/choria/v1/login"]);
    assert.equal(s.tokenFile, "/o/t.jwt");
    assert.equal(s.seedFile, "/o/s");
  });

  const failures: Array<[string, Record<string, string>, RegExp]> = [
    ["no URL", { [ConfigKeys.signerTokenFile]: "/t" }, /plugin\.login\.aaasvc\.login\.url/],
    ["no token file (go-choria has no default)", { [ConfigKeys.loginUrls]: "https://a/" }, /no token file defined/],
    ["bad scheme", { [ConfigKeys.loginUrls]: "ftp://a/", [ConfigKeys.signerTokenFile]: "/t" }, /scheme/],
    ["not a URL", { [ConfigKeys.loginUrls]: "a b", [ConfigKeys.signerTokenFile]: "/t" }, /invalid login URL/],
    ["seed equals token", { [ConfigKeys.loginUrls]: "https://a/", [ConfigKeys.signerTokenFile]: "/t.key" }, /same path/],
  ];
  for (const [name, entries, re] of failures) {
    test(`refuses: ${name}`, () => {
      assert.throws(() => resolveLoginSettings(base(entries), {}, "/home/u", "cfg"), (err: unknown) => {
        assert.ok(err instanceof LoginError);
        assert.equal(err.code, LoginErrorCode.Config);
        assert.match(err.message, re);
        return true;
      });
    });
  }
});

describe("loadClientConfig", () => {
  test("uses ~/.choriarc when present; a named file must exist", (t) => {
    const home = mkdtempSync(join(tmpdir(), "login-cfg-"));
    t.after(() => rmSync(home, { recursive: true, force: true }));
    assert.equal(defaultConfigCandidates(home)[0], join(home, ".choriarc"));
    assert.equal(defaultConfigCandidates(home).at(-1), "/etc/choria/client.conf");

    writeFileSync(join(home, ".choriarc"), `${ConfigKeys.loginUrls} = https://x/\n`);
    const found = loadClientConfig(undefined, home);
    assert.equal(found.file, join(home, ".choriarc"));
    assert.equal(found.values.get(ConfigKeys.loginUrls), "https://x/");

    assert.throws(() => loadClientConfig(join(home, "missing.conf"), home), (err: unknown) => {
      assert.ok(err instanceof LoginError);
      assert.match(err.message, /ENOENT/);
      return true;
    });
  });
});
