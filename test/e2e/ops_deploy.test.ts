/**
 * The Grafana dashboard and the Prometheus alerting rules in deploy/ read only
 * what a gateway really exports: a gateway child with an upstream hub is
 * scraped, and every metric name in every dashboard query, template variable
 * and alert expression must be one of its metric families (histograms by their
 * _bucket/_sum/_count series), and every label value an expression matches
 * exactly (reason="auth_expired", outcome="ok", ...) must be a series it
 * exports. The rules parse and their unit tests pass under promtool (Debian
 * package `prometheus`, installed by scripts/setup.sh); the YAML structure of
 * each rule and the dashboard's JSON structure are checked here as well.
 */
import { before, after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getPki, type Pki } from "../helpers/pki.js";
import { startHub, waitFor, type Hub } from "../helpers/hub.js";
import { tokenWorld, writeSignerFiles } from "../helpers/tokens.js";
import { baseConf, hubRemoteLines, httpGet, opsDir, scrape, spawnGateway } from "./ops_world.js";

// Compiled to build/test/e2e/; deploy/ stays in the source tree.
const DEPLOY = fileURLToPath(new URL("../../../deploy/", import.meta.url));
const RULES = `${DEPLOY}prometheus/aaa-leafnode.rules.yml`;
const RULES_TEST = `${DEPLOY}prometheus/aaa-leafnode.rules.test.yml`;
const DASHBOARD = `${DEPLOY}grafana/aaa-leafnode.json`;
/** promtool: PROMTOOL_BIN, else the one scripts/setup.sh unpacks into the cache, else the PATH's. */
const PROMTOOL = process.env.PROMTOOL_BIN ??
  [join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "aaa-leafnode/prometheus/usr/bin/promtool")].find((p) => existsSync(p)) ?? "promtool";

// PromQL's keywords and aggregation operators (which may stand before "by (...)" instead of "(").
const keywords = new Set([
  "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
  "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
]);

/** A metric selector in an expression: its name and its exact-match label pairs. */
interface Selector {
  name: string;
  equals: Record<string, string>;
}

/**
 * The metric selectors of a PromQL expression. Strings are blanked, range and
 * grouping clauses dropped; what is left that is an identifier, not a function
 * call (followed by "(") and not a keyword, is a metric name; its {...} gives
 * the label matchers.
 */
function selectors(expr: string): Selector[] {
  const out: Selector[] = [];
  // Label matchers first (they hold strings), then everything else.
  const matchers: string[] = [];
  let text = expr.replace(/\{([^}]*)\}/g, (_m, body: string) => `{#${matchers.push(body) - 1}}`);
  text = text.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, "");
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "$1");
  // Not inside a number or a duration ("5m", "1e3").
  const re = /(?<![a-zA-Z0-9_:.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{#(\d+)\})?\s*(\()?/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const [, name, , idx, call] = m;
    if (call || keywords.has(name!) || /^(inf|nan)$/i.test(name!)) continue;
    const equals: Record<string, string> = {};
    if (idx !== undefined) {
      for (const pair of matchers[Number(idx)]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"([^"]*)"/g)) equals[pair[1]!] = pair[2]!;
    }
    out.push({ name: name!, equals });
  }
  return out;
}

/** Every expression in the dashboard: panel targets and query variables. */
function dashboardExprs(dash: Record<string, unknown>): string[] {
  const exprs: string[] = [];
  for (const p of dash.panels as Array<Record<string, unknown>>) {
    for (const t of (p.targets ?? []) as Array<Record<string, unknown>>) exprs.push(String(t.expr));
  }
  for (const v of (dash.templating as { list: Array<Record<string, unknown>> }).list) {
    if (v.type !== "query") continue;
    const q = typeof v.query === "string" ? v.query : String((v.query as Record<string, unknown>).query);
    // label_values(metric, label): the metric must exist.
    const lv = /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(q);
    exprs.push(lv ? lv[1]! : q);
  }
  return exprs;
}

/** The `expr:` of every rule (each on one line, which the structure test below enforces). */
function ruleExprs(yaml: string): string[] {
  return [...yaml.matchAll(/^\s+expr:\s*(.+)$/gm)].map((m) => m[1]!.trim());
}

/** Metric families and label sets a scrape exports (histogram families also as _bucket, _sum, _count). */
function exported(text: string): { names: Set<string>; series: Array<{ name: string; labels: Record<string, string> }> } {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!);
    if (m[2] === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(m[1]! + s);
  }
  const series: Array<{ name: string; labels: Record<string, string> }> = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const p of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[p[1]!] = p[2]!;
    series.push({ name: m[1]!, labels });
  }
  return { names, series };
}

describe("selectors() finds the metrics of an expression", () => {
  const cases: Array<[string, string[]]> = [
    ['sum by (instance) (rate(aaa_leafnode_auth_total{outcome!="ok"}[5m])) > 0.2', ["aaa_leafnode_auth_total"]],
    ['a_bytes / (b_limit{x="y"} > 0) > 0.5', ["a_bytes", "b_limit"]],
    ['histogram_quantile(0.99, sum by (le) (rate(h_bucket{instance=~"$instance"}[$__rate_interval])))', ["h_bucket"]],
    ["time() - process_start_time_seconds", ["process_start_time_seconds"]],
    ['up == 0 and on (instance) m unless ignoring (remote) n offset 5m', ["up", "m", "n"]],
  ];
  for (const [expr, want] of cases) {
    test(expr, () => assert.deepEqual(selectors(expr).map((s) => s.name), want));
  }
  test("exact label matches are kept, regex and negative ones are not", () => {
    assert.deepEqual(selectors('m{reason="auth_expired", kind=~"x.*", outcome!="ok"}')[0]!.equals, { reason: "auth_expired" });
  });
});

describe("deploy/: the dashboard and the alerting rules", () => {
  let pki: Pki;
  let hub: Hub;
  let metrics: string;

  before(async () => {
    pki = await getPki();
    hub = await startHub({ pki });
  });
  after(async () => {
    await hub?.stop();
  });

  test("every metric and exact label value they use is exported by a running gateway", async (t) => {
    const dir = opsDir(t);
    const { publicKeyPath } = writeSignerFiles(tokenWorld().signer, dir, "signer");
    const gw = await spawnGateway(t, dir, baseConf(pki, [publicKeyPath], [
      ...hubRemoteLines(pki, hub),
      "plugin.choria.network.aaa_leafnode.ping_interval = 1s",
    ]));
    const stats = gw.statsPort!;
    await waitFor("readiness", async () => ((await httpGet(stats, "/readyz")).status === 200 ? true : undefined), 20_000);
    // The round trip gauge appears with the first PONG.
    metrics = await waitFor("an upstream RTT sample", async () => {
      const text = await scrape(stats);
      return /^choria_network_leafnode_rtt_ms\{/m.test(text) ? text : undefined;
    }, 20_000);
    const { names, series } = exported(metrics);

    const dash = JSON.parse(readFileSync(DASHBOARD, "utf8")) as Record<string, unknown>;
    const sources: Array<[string, string[]]> = [
      ["dashboard", dashboardExprs(dash)],
      ["alerting rules", ruleExprs(readFileSync(RULES, "utf8"))],
    ];
    const used = new Set<string>();
    for (const [where, exprs] of sources) {
      assert.ok(exprs.length > 0, `${where} has expressions`);
      for (const expr of exprs) {
        const sels = selectors(expr);
        assert.ok(sels.length > 0, `${where}: no metric in ${expr}`);
        for (const s of sels) {
          used.add(s.name);
          assert.ok(names.has(s.name), `${where}: ${s.name} (in ${expr}) is not in the gateway's /metrics`);
          const want = Object.entries(s.equals).filter(([k]) => k !== "instance");
          if (want.length === 0) continue;
          assert.ok(
            series.some((x) => (x.name === s.name) && want.every(([k, v]) => x.labels[k] === v)),
            `${where}: no ${s.name} series with ${JSON.stringify(Object.fromEntries(want))} (in ${expr})`,
          );
        }
      }
    }
    t.diagnostic(`${used.size} metrics used by the dashboard and the rules, all exported`);
    // The rules cover what they are for.
    const rules = readFileSync(RULES, "utf8");
    for (const name of ["aaa_leafnode_upstream_remote_connected", "aaa_leafnode_auth_total", "aaa_leafnode_closed_connections_total", "aaa_leafnode_upstream_remote_buffered_bytes", "aaa_leafnode_upstream_remote_buffer_limit_bytes"]) {
      assert.ok(rules.includes(name), `the rules use ${name}`);
    }
  });

  test("the rules: one-line expressions, severity and summary on every alert", () => {
    const yaml = readFileSync(RULES, "utf8");
    const alerts = [...yaml.matchAll(/^ {6}- alert: (\S+)$/gm)].map((m) => m[1]!);
    assert.deepEqual(alerts, [
      "AaaLeafnodeUpstreamDown", "AaaLeafnodeAuthFailuresSpiking", "AaaLeafnodeSlowConsumers", "AaaLeafnodeTokenExpiryCloses",
      "AaaLeafnodeOutageBufferFilling", "AaaLeafnodeOutageBufferDropping", "AaaLeafnodeNotReady", "AaaLeafnodeSocketsRefusedBeforeLogin",
    ]);
    const blocks = yaml.split(/^ {6}- alert: /m).slice(1);
    for (const [i, block] of blocks.entries()) {
      const exprLine = /^ {8}expr: (.+)$/m.exec(block)?.[1];
      assert.ok(exprLine && !/^[|>]/.test(exprLine), `${alerts[i]}: expr on one line`);
      assert.match(block, /^ {10}severity: (critical|warning|info)$/m, `${alerts[i]}: severity`);
      assert.match(block, /^ {10}summary: ".+"$/m, `${alerts[i]}: summary`);
      assert.match(block, /^ {10}description: ".+"$/m, `${alerts[i]}: description`);
    }
    assert.doesNotMatch(yaml, /\t/, "no tabs in YAML");
  });

  test("promtool check rules and promtool test rules pass", (t) => {
    const probe = spawnSync(PROMTOOL, ["--version"], { encoding: "utf8" });
    if (probe.error) {
      t.diagnostic(`promtool not found (${PROMTOOL}): scripts/setup.sh installs it (Debian package prometheus); only the structure checks ran`);
      return;
    }
    const check = spawnSync(PROMTOOL, ["check", "rules", RULES], { encoding: "utf8" });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout + check.stderr, /SUCCESS: 8 rules found/);
    const unit = spawnSync(PROMTOOL, ["test", "rules", RULES_TEST], { encoding: "utf8" });
    assert.equal(unit.status, 0, unit.stdout + unit.stderr);
    assert.match(unit.stdout + unit.stderr, /SUCCESS/);
  });

  test("the dashboard: unique panel ids, a query per target, the data source variable everywhere", () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { uid: string; title: string; panels: Array<Record<string, unknown>>; templating: { list: Array<Record<string, unknown>> } };
    assert.equal(dash.uid, "aaa-leafnode");
    const ids = dash.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
    assert.deepEqual(dash.templating.list.map((v) => v.name), ["datasource", "instance"]);
    for (const p of dash.panels) {
      if (p.type === "row") continue;
      const targets = p.targets as Array<Record<string, unknown>>;
      assert.ok(targets.length > 0, `${String(p.title)} has queries`);
      // Grafana's own variable syntax, not a template placeholder.
      assert.deepEqual(p.datasource, { type: "prometheus", uid: "$" + "{datasource}" }, String(p.title));
      for (const t of targets) {
        assert.ok(typeof t.expr === "string" && t.expr.includes('instance=~"$instance"'), `${String(p.title)}: ${String(t.expr)} filters by $instance`);
        assert.match(String(t.refId), /^[A-Z]$/);
      }
    }
  });
});
