#!/usr/bin/env bash
# CPU cost of a fixed amount of work, counted by `perf` (docs/performance.md,
# "Seeing native time"). Runs the bench against the gateway only, with the
# gateway under --perf-basic-prof, attaches `perf record` to the gateway
# process for the whole run, and prints the sample counts per thread and the
# top symbols of the main thread. The same scenario and rounds on two builds
# (--gateway-bin) is an A/B that contention on a shared machine moves far less
# than throughput: perf samples only on-CPU time.
#
#   bench/perf_samples.sh OUT_PREFIX [bench options...]
#   bench/perf_samples.sh /tmp/subs-new --scenarios subscribers --rounds 3
#   bench/perf_samples.sh /tmp/subs-old --scenarios subscribers --rounds 3 --gateway-bin /path/to/old/bin/aaa-leafnode.js
#
# PERF_WINDOW=measured counts only each scenario's measured phase (the
# window its CPU-per-unit figures cover; connecting the clients is left out):
# perf starts with its events off and the bench turns them on and off
# through a fifo (BENCH_PERF_CTL).
#
# Writes OUT_PREFIX.data (perf), OUT_PREFIX.log (bench output) and OUT_PREFIX.txt (this summary).
# Needs `perf` (Debian: linux-perf) and permission to attach to own processes
# (kernel.perf_event_paranoid ≤ 2 for user space; root sees kernel frames too).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then sed -n 2,16p "$0"; exit 2; fi
out="$1"; shift
FREQ="${PERF_FREQ:-999}"

ctl=()
if [ "${PERF_WINDOW:-all}" = measured ]; then
  fifo="$out.ctl"; rm -f "$fifo"; mkfifo "$fifo"
  export BENCH_PERF_CTL="$fifo"
  ctl=(-D -1 --control "fifo:$fifo")
fi

node build/bench/run.js --only gateway --perf-map --out "$out.json" "$@" >"$out.log" 2>&1 &
bench=$!
pid=""
for _ in $(seq 1 600); do
  pid="$(sed -n 's/.*gateway pid \([0-9]*\) .*/\1/p' "$out.log" | head -1)"
  [ -n "$pid" ] && break
  kill -0 "$bench" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$pid" ]; then echo "perf_samples: the gateway did not start; see $out.log" >&2; wait "$bench" || true; exit 1; fi
perf record -q -F "$FREQ" -g "${ctl[@]}" -p "$pid" -o "$out.data" >/dev/null 2>&1 &
perfpid=$!
wait "$bench" || echo "perf_samples: bench exited with $?" >&2
kill -INT "$perfpid" 2>/dev/null || true
wait "$perfpid" 2>/dev/null || true

{
  echo "# $* — gateway pid $pid, perf -F $FREQ, window ${PERF_WINDOW:-all}, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "## samples per thread (tid:name; the main thread's id is the process id, the others are V8's GC and compiler helpers and libuv's pool)"
  perf report -i "$out.data" --stdio -n --no-children --sort pid 2>/dev/null | grep -E '^ +[0-9]' | tee "$out.threads" | head -12
  echo "total samples: $(awk '{ n += $2 } END { print n }' "$out.threads")"
  rm -f "$out.threads"
  echo "## samples per binary (node: V8, libuv and the OpenSSL Node links in; [JIT]: JavaScript; [kernel.kallsyms]: system calls)"
  perf report -i "$out.data" --stdio -n --no-children --sort dso 2>/dev/null | grep -E '^ +[0-9]' | head -12
  echo "## top symbols, all threads"
  perf report -i "$out.data" --stdio -n --no-children --sort sym 2>/dev/null | grep -E '^ +[0-9]' | head -40
} | tee "$out.txt"
rm -f "/tmp/perf-$pid.map" "$out.ctl"
