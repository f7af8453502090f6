/**
 * Unit tests of the login command's client-config reader: the `key = value`
 * format, which config file is used, and how the token and seed paths resolve
 * (go-choria's precedence, `<token without extension>.key`, `~` expansion).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseKeyValue, resolveLoginSettings, seedFileFor, expandHome, loadClientConfig, defaultConfigCandidates, projectConfigFiles, ConfigKeys, SYSTEM_CLIENT_CONFIGS } from "../../../src/login/client_config.js";
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

describe("loadClientConfig: the files choria login reads, in its order", () => {
  function tree(t: { after(fn: () => void): void }) {
    const root = mkdtempSync(join(tmpdir(), "login-cfg-"));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const home = join(root, "home");
    const system = [join(root, "etc/choria/client.conf"), join(root, "usr/local/etc/choria/client.conf"), join(root, "etc/puppetlabs/mcollective/client.cfg")];
    const cwd = join(root, "work/project/sub");
    for (const d of [home, cwd, ...system.map((f) => join(f, ".."))]) mkdirSync(d, { recursive: true });
    const put = (file: string, entries: Record<string, string>) =>
      writeFileSync(file, Object.entries(entries).map(([k, v]) => `${k} = ${v}\n`).join(""));
    return { root, home, system, cwd, put, search: { home, cwd, system } };
  }
  const url = ConfigKeys.loginUrls;

  test("the candidates are ~/.choriarc, ~/.mcollective, then the system files (go-choria's UserConfig)", () => {
    assert.deepEqual(defaultConfigCandidates("/home/u"), [
      "/home/u/.choriarc", "/home/u/.mcollective",
      "/etc/choria/client.conf", "/usr/local/etc/choria/client.conf", "/etc/puppetlabs/mcollective/client.cfg",
    ]);
    assert.deepEqual(defaultConfigCandidates(undefined), [...SYSTEM_CLIENT_CONFIGS]);
  });

  // Each row: which candidates exist; the one that must be used.
  const order: Array<[string, Array<"choriarc" | "mcollective" | 0 | 1 | 2>, "choriarc" | "mcollective" | 0 | 1 | 2]> = [
    ["~/.choriarc wins over everything", ["choriarc", "mcollective", 0, 1], "choriarc"],
    ["~/.mcollective next", ["mcollective", 0, 1], "mcollective"],
    ["then /etc/choria/client.conf", [0, 1, 2], 0],
    ["then /usr/local/etc/choria/client.conf", [1, 2], 1],
    ["then the puppetlabs mcollective client.cfg", [2], 2],
  ];
  for (const [name, present, want] of order) {
    test(name, (t) => {
      const w = tree(t);
      const path = (c: "choriarc" | "mcollective" | 0 | 1 | 2) => (typeof c === "number" ? w.system[c]! : join(w.home, `.${c}`));
      for (const c of present) w.put(path(c), { [url]: `https://${String(c)}.example/` });
      const loaded = loadClientConfig(undefined, w.search);
      assert.equal(loaded.file, path(want));
      assert.equal(loaded.values.get(url), `https://${String(want)}.example/`);
    });
  }

  test("no file anywhere: no settings", (t) => {
    const w = tree(t);
    const loaded = loadClientConfig(undefined, w.search);
    assert.deepEqual([loaded.file, loaded.projectFiles, loaded.values.size], [null, [], 0]);
  });

  test("choria.conf files in the working directory and its parents override it, the innermost last", (t) => {
    const w = tree(t);
    w.put(join(w.home, ".choriarc"), { [url]: "https://user/", [ConfigKeys.signerTokenFile]: "~/t", [ConfigKeys.choriaSeedFile]: "/user/seed" });
    w.put(join(w.root, "work/choria.conf"), { [url]: "https://outer/", [ConfigKeys.signerTokenFile]: "/outer/token" });
    w.put(join(w.root, "work/project/choria.conf"), { [url]: "https://inner/" });
    const loaded = loadClientConfig(undefined, w.search);
    assert.equal(loaded.file, join(w.home, ".choriarc"));
    assert.deepEqual(loaded.projectFiles, [join(w.root, "work/choria.conf"), join(w.root, "work/project/choria.conf")]);
    assert.equal(loaded.values.get(url), "https://inner/");
    assert.equal(loaded.values.get(ConfigKeys.signerTokenFile), "/outer/token");
    assert.equal(loaded.values.get(ConfigKeys.choriaSeedFile), "/user/seed");
  });

  test("project files apply over --config too; a named file must exist", (t) => {
    const w = tree(t);
    const named = join(w.root, "named.conf");
    w.put(named, { [url]: "https://named/", [ConfigKeys.signerTokenFile]: "/named/token" });
    w.put(join(w.cwd, "choria.conf"), { [url]: "https://project/" });
    const loaded = loadClientConfig(named, w.search);
    assert.equal(loaded.file, named);
    assert.equal(loaded.values.get(url), "https://project/");
    assert.equal(loaded.values.get(ConfigKeys.signerTokenFile), "/named/token");
    assert.throws(() => loadClientConfig(join(w.root, "missing.conf"), w.search), (err: unknown) => {
      assert.ok(err instanceof LoginError);
      assert.match(err.message, /ENOENT/);
      return true;
    });
  });

  test("projectConfigFiles stops at the file system root", (t) => {
    const w = tree(t);
    w.put(join(w.cwd, "choria.conf"), {});
    assert.deepEqual(projectConfigFiles(w.cwd), [join(w.cwd, "choria.conf")]);
    assert.deepEqual(projectConfigFiles("/"), []);
  });
});
