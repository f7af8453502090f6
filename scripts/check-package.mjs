// The packed-install check: what `npm pack` produces installs and runs on its own.
// From a clean copy of the working tree (no build/, the repository's node_modules linked in
// for the compiler) it runs `npm pack`, so `prepack` must build; checks the tarball holds the
// built code, bin, policies, docs and the deploy/ examples and nothing of tests, benches or
// TypeScript sources; installs it with `npm install -g` into a temporary prefix (production
// dependencies only); then, from an empty folder and with each Node binary given on the
// command line, runs `aaa-leafnode --version`, `aaa-leafnode check --config` against a
// broker.conf generated here (valid: exit 0; broken: exit 1 naming file, line and key) and a
// short `aaa-leafnode demo` (a small fleet; needs nats-server and openssl, as the demo does).
// Needs a built repository (for the devkit that writes the configuration).
// Usage: node scripts/check-package.mjs [NODE_BINARY ...]
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const repo = resolve(dirname(new URL(import.meta.url).pathname), "..");
const nodes = process.argv.slice(2).length ? process.argv.slice(2) : [process.execPath];
const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
const failures = [];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, ...opts });
  if (r.error) throw r.error;
  return r;
}
function must(label, r) {
  if (r.status !== 0) throw new Error(`${label} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}
function check(label, ok, detail = "") {
  console.log(`${ok ? "ok" : "FAIL"} - ${label}`);
  if (!ok) failures.push(`${label}${detail ? `\n${detail}` : ""}`);
}

const tmp = mkdtempSync(join(tmpdir(), "aaa-pack-"));
try {
  // 1. A clean copy: tracked and new files, nothing git ignores (build/, node_modules/).
  const src = join(tmp, "src");
  const listed = must("git ls-files", run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: repo }));
  for (const f of listed.stdout.split("\0").filter(Boolean)) {
    if (!existsSync(join(repo, f))) continue; // deleted but not yet committed
    if (f === "node_modules") continue; // a linked node_modules (a worktree's) is no directory to .gitignore
    mkdirSync(dirname(join(src, f)), { recursive: true });
    cpSync(join(repo, f), join(src, f));
  }
  symlinkSync(join(repo, "node_modules"), join(src, "node_modules"), "dir");
  check("the clean copy has no build output", !existsSync(join(src, "build")));

  // 2. npm pack: prepack builds.
  const packed = must("npm pack", run("npm", ["pack", "--json", "--pack-destination", tmp], { cwd: src }));
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("[")))[0];
  const files = info.files.map((f) => f.path);
  const tarball = join(tmp, info.filename);
  console.log(`packed ${info.filename}: ${files.length} files, ${info.size} bytes (${info.unpackedSize} unpacked)`);
  for (const need of ["package.json", "bin/aaa-leafnode.js", "build/src/cli/main.js", "build/src/gateway.js", "policies/minimal.json", "docs/configuration.md", "README.md", "LICENSE",
    "deploy/README.md", "deploy/broker.conf.example", "deploy/kubernetes/kustomization.yaml", "deploy/systemd/aaa-leafnode.service"]) {
    check(`the package holds ${need}`, files.includes(need));
  }
  const stray = files.filter((f) => /^(test|bench|scripts|src|build\/test|build\/bench|node_modules)\//.test(f) || /\.ts$|\.map$|tsbuildinfo/.test(f));
  check("the package holds no tests, benches, sources or maps", stray.length === 0, stray.slice(0, 20).join("\n"));

  // 3. Install globally into a temporary prefix (production dependencies only).
  const prefix = join(tmp, "prefix");
  must("npm install -g", run("npm", ["install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", tarball], { cwd: tmp }));
  const bin = join(prefix, "bin", "aaa-leafnode");
  check("npm linked the aaa-leafnode command", existsSync(bin));

  // 4. A configuration written with the repository's devkit (certificates, an AAA signer).
  const conf = join(tmp, "conf");
  mkdirSync(conf);
  const devkit = (m) => import(pathToFileURL(join(repo, "build/src", m)).href);
  const { generatePki } = await devkit("devkit/pki.js");
  const { createSigner, writeSignerFiles } = await devkit("auth/mint.js");
  const { gatewayConfText } = await devkit("devkit/world.js");
  const pki = await generatePki(join(conf, "pki"));
  const signer = writeSignerFiles(createSigner("ed25519"), conf, "signer").publicKeyPath;
  const good = join(conf, "broker.conf");
  writeFileSync(good, gatewayConfText({ dir: conf, pki, signers: [signer] }));
  const goodText = readFileSync(good, "utf8");
  const bad = join(conf, "broken.conf");
  writeFileSync(bad, goodText + "plugin.choria.network.peers = nats://127.0.0.1:4223\n");
  const badLine = goodText.split("\n").length;

  // 5. Run it from an empty folder with each Node.
  const empty = join(tmp, "empty");
  mkdirSync(empty);
  for (const node of nodes) {
    const env = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}` };
    const nodeVersion = run(node, ["--version"]).stdout.trim();
    const version = run(bin, ["--version"], { cwd: empty, env });
    check(`[node ${nodeVersion}] aaa-leafnode --version says ${pkg.version}`, version.status === 0 && version.stdout.trim() === `aaa-leafnode ${pkg.version}`, version.stdout + version.stderr);
    const ok = run(bin, ["check", "--config", good], { cwd: empty, env });
    check(`[node ${nodeVersion}] check of a valid broker.conf: exit 0`, ok.status === 0 && /configuration is valid/.test(ok.stdout), ok.stdout + ok.stderr);
    check(`[node ${nodeVersion}] check loads the installed package's policies`, /^ {2}minimal: when always$/m.test(ok.stdout), ok.stdout);
    const broken = run(bin, ["check", "--config", bad], { cwd: empty, env });
    check(`[node ${nodeVersion}] check of a broken broker.conf: exit 1 naming file, line and key`,
      broken.status === 1 && broken.stderr.includes(`error: ${bad}:${badLine}: plugin.choria.network.peers: `), broken.stdout + broken.stderr);
    const demo = run(bin, ["demo", "--nodes", "5", "--timeout", "60"], { cwd: empty, env, timeout: 120_000 });
    check(`[node ${nodeVersion}] aaa-leafnode demo runs from the installed package: demo: OK`,
      demo.status === 0 && /^alice: 5 of 5 nodes replied/m.test(demo.stdout) && /\ndemo: OK\n$/.test(demo.stdout), demo.stdout + demo.stderr);
  }
} catch (err) {
  failures.push(err instanceof Error ? err.message : String(err));
  console.log(`FAIL - ${failures.at(-1)}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

if (failures.length) {
  console.error(`\ncheck-package: ${failures.length} failure(s)`);
  process.exit(1);
}
console.log("\ncheck-package: the packed package installs and runs");
