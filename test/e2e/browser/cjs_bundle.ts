/**
 * A minimal CommonJS bundler for the browser test page. @nats-io/nats-core
 * ships as CommonJS only (no ESM build to serve with an import map), so this
 * walks the `require("…")` graph from the given packages with Node's own
 * resolver, wraps each file in a function, and emits one classic script that
 * puts the packages' exports on `globalThis.__cjs[name]`. Node built-ins are
 * replaced by an empty object: the only one reached (`crypto` in tweetnacl) is
 * on a branch a browser never takes. Module ids are paths relative to
 * node_modules, so no local path ends up in the page.
 */
import { readFileSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { relative, sep } from "node:path";

const REQUIRE_CALL = /\brequire\(\s*(["'])([^"']+)\1\s*\)/g;

/** The node_modules directory holding `file` (ids are relative to it). */
function nodeModulesOf(file: string): string {
  const marker = `${sep}node_modules${sep}`;
  const at = file.lastIndexOf(marker);
  if (at < 0) throw new Error(`${file} is not inside node_modules`);
  return file.slice(0, at + marker.length - 1);
}

interface ModuleDef {
  source: string;
  /** require specifier → module id, or null for an (empty) Node built-in. */
  deps: Record<string, string | null>;
}

/** One script defining `globalThis.__cjs[pkg]` for every package in `packages`. */
export function bundleCjs(packages: string[]): { script: string; modules: number } {
  const resolveFrom = createRequire(import.meta.url);
  const idOf = (file: string) => relative(nodeModulesOf(file), file).split(sep).join("/");
  const defs = new Map<string, ModuleDef>();

  const visit = (file: string): string => {
    const id = idOf(file);
    if (defs.has(id)) return id;
    const source = readFileSync(file, "utf8");
    const def: ModuleDef = { source, deps: {} };
    defs.set(id, def);
    const req = createRequire(file);
    for (const m of source.matchAll(REQUIRE_CALL)) {
      const spec = m[2]!;
      if (spec in def.deps) continue;
      def.deps[spec] = isBuiltin(spec) ? null : visit(req.resolve(spec));
    }
    return id;
  };
  const entries = packages.map((p) => [p, visit(resolveFrom.resolve(p))] as const);

  const parts: string[] = ["(function () {", '"use strict";', "const defs = Object.create(null);"];
  for (const [id, def] of defs) {
    parts.push(`defs[${JSON.stringify(id)}] = { deps: ${JSON.stringify(def.deps)}, fn: function (module, exports, require) {\n${def.source}\n} };`);
  }
  parts.push(
    "const cache = Object.create(null);",
    "function load(id) {",
    "  if (cache[id]) return cache[id].exports;",
    "  const module = { exports: {} };",
    "  cache[id] = module;",
    "  const def = defs[id];",
    "  def.fn.call(module.exports, module, module.exports, (spec) => {",
    "    const target = def.deps[spec];",
    "    if (target === undefined) throw new Error('bundle: ' + id + ' requires unknown ' + spec);",
    "    return target === null ? {} : load(target);",
    "  });",
    "  return module.exports;",
    "}",
    "globalThis.__cjs = globalThis.__cjs || {};",
    ...entries.map(([name, id]) => `globalThis.__cjs[${JSON.stringify(name)}] = load(${JSON.stringify(id)});`),
    "})();",
  );
  return { script: parts.join("\n"), modules: defs.size };
}
