/**
 * The plan of a reload, a pure function of the running and the new
 * configuration: which keys changed, when each change takes effect (the
 * `reload` column of the key table), and the configuration to run with
 * afterwards. Keys that need a restart keep their running value in that
 * configuration, so the running gateway never holds a setting its parts do
 * not actually use. The gateway validates the planned configuration completely
 * before it commits any of it (Gateway.reload).
 */
import { describeConfig, getPath, setPath } from "./load.js";
import { lookupKey, primarySpecFor, type ReloadClass } from "./keys.js";
import type { GatewayConfig } from "./types.js";

export interface KeyChange {
  key: string;
  reload: ReloadClass;
  /** The effective values as broker.conf text; undefined = not set. */
  from: string | undefined;
  to: string | undefined;
}

export interface ReloadPlan {
  /** What the gateway runs with after the reload: the new file, restart keys kept as running. */
  config: GatewayConfig;
  changes: KeyChange[];
}

/** key → value of the effective settings (the lines `aaa-leafnode check` prints). */
function effectiveSettings(c: GatewayConfig): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of describeConfig(c).split("\n")) {
    const eq = line.indexOf(" = ");
    if (line.startsWith("#") || eq < 0) continue;
    out.set(line.slice(0, eq), line.slice(eq + 3));
  }
  return out;
}

function reloadClassOf(key: string): ReloadClass {
  const found = lookupKey(key);
  return found.kind === "known" ? found.spec.reload : "restart";
}

export function planReload(running: GatewayConfig, next: GatewayConfig): ReloadPlan {
  const before = effectiveSettings(running);
  const after = effectiveSettings(next);
  const changes: KeyChange[] = [];
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const from = before.get(key);
    const to = after.get(key);
    if (from !== to) changes.push({ key, reload: reloadClassOf(key), from, to });
  }
  const config: GatewayConfig = structuredClone(next);
  for (const change of changes) {
    if (change.reload !== "restart") continue;
    const found = lookupKey(change.key);
    if (found.kind !== "known") continue;
    const field = found.spec.field;
    // Anything about the upstream link keeps the whole running remote list.
    if (field.startsWith("leafRemotes")) {
      config.leafRemotes = structuredClone(running.leafRemotes);
      continue;
    }
    const spec = primarySpecFor(field);
    if (spec) setPath(config, field, structuredClone(getPath(running, field)));
  }
  return { config, changes };
}
