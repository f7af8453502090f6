#!/usr/bin/env bash
# The worker curve of docs/workers.md: `npm run bench` at 1, 2, … N gateway
# workers, with the leaf under test (the gateway and its workers, the peer
# nats-server leaf, the storms' bare Node server) pinned to its own cores and
# the hub and every client process pinned to the others (taskset), so that the
# leaf owns its cores and the clients do not compete with it. The peer leaf
# runs on the same leaf cores at every step: its figures should stay flat, and
# how far they move is the noise of the curve.
#
#   bench/worker_curve.sh [--max N] [--leaf-cpus LIST] [--client-cpus LIST]
#                         [--rounds R] [--scenarios a,b] [--scale X]
#
# Defaults: the upper half of the cores for the leaf, the lower half for the
# hub and the clients, workers 1 … (number of leaf cores), the scenarios
# storm,manycallers,fanin, 3 rounds. On a 2-core machine that is one point
# (1 worker on CPU 1, clients on CPU 0); --max 2 adds two workers sharing CPU 1.
# On 16 cores: leaf CPUs 8-15, clients 0-7, workers 1 … 8. The clients need
# cores enough to saturate the leaf: with too few, every curve is flat.
# Each step's full figures go to bench/results/workers-<N>.json; at the end
# one table shows the curve.
set -euo pipefail
cd "$(dirname "$0")/.."
cores="$(nproc)"
half=$(( cores / 2 ))
[ "$half" -ge 1 ] || { echo "worker_curve: needs at least 2 CPUs (one for the leaf, one for the clients)" >&2; exit 2; }
leaf="$half-$(( cores - 1 ))"; [ "$half" -eq $(( cores - 1 )) ] && leaf="$half"
clients="0-$(( half - 1 ))"; [ "$half" -eq 1 ] && clients="0"
max=$(( cores - half ))
rounds=3
scenarios="storm,manycallers,fanin"
scale=1
while [ $# -gt 0 ]; do
  case "$1" in
    --max) max="$2"; shift 2 ;;
    --leaf-cpus) leaf="$2"; shift 2 ;;
    --client-cpus) clients="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --scenarios) scenarios="$2"; shift 2 ;;
    --scale) scale="$2"; shift 2 ;;
    *) sed -n 2,20p "$0"; exit 2 ;;
  esac
done
mkdir -p bench/results
echo "worker curve: leaf CPUs $leaf, hub and client CPUs $clients, workers 1..$max, $scenarios, $rounds round(s); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for n in $(seq 1 "$max"); do
  node build/bench/run.js --workers "$n" --pin-leaf "$leaf" --pin-clients "$clients" --scenarios "$scenarios" \
    --rounds "$rounds" --scale "$scale" --out "bench/results/workers-$n.json"
done
node - "$max" <<'EOF'
// One row per scenario metric, one column pair (gateway, peer) per worker count.
const { readFileSync } = require("node:fs");
const max = Number(process.argv[2]);
const wanted = ["connsPerSec", "leafCpuPerUnit", "repliesPerSec", "lastReplyMs"];
const runs = Array.from({ length: max }, (_, i) => JSON.parse(readFileSync(`bench/results/workers-${i + 1}.json`, "utf8")));
const fmt = (v) => (v === null ? "—" : v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(2));
const rows = runs[0].summary.filter((r) => wanted.includes(r.metric));
console.log(`\nworker curve (gateway / peer leaf, medians), leaf CPUs ${runs[0].options.pinLeaf}, clients ${runs[0].options.pinClients}`);
console.log(["scenario", "metric", ...runs.map((_, i) => `${i + 1} worker(s)`)].join(" | "));
for (const row of rows) {
  const cells = runs.map((r) => {
    const s = r.summary.find((x) => x.scenario === row.scenario && x.metric === row.metric);
    return s ? `${fmt(s.gateway)} / ${fmt(s.peer)}` : "—";
  });
  console.log([row.scenario, `${row.label} (${row.unit})`, ...cells].join(" | "));
}
EOF
