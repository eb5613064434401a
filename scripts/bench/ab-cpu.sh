#!/usr/bin/env bash
# A/B CPU cost per request of two gateway configs, for a machine whose speed drifts from minute to minute:
# both gateways run at once (pinned to core 1, each on its own ports) and wrk alternates between them in
# short slices, so every A slice has a B slice next to it. Prints each pair's CPU/request and throughput,
# then the median of the per-pair ratios, which drift hits alike on both sides.
# Usage: ab-cpu.sh [slice seconds] [pairs] [connections] A=config.yaml[|VAR=value ...[|Header: value]] B=...
# (entry syntax as in cpu-per-request.sh). AB_THREADS=1 adds CPU per request by thread. Starts the shared bench upstream (nginx on :9001) unless it answers.
# BENCH_MAIN=<path to main.js> among an entry's variables runs that build instead (A/B of two builds:
# `npx tsc -p server/tsconfig.build.json --outDir server/dist-old` on the old commit).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
slice=${1:-2}; pairs=${2:-10}; conns=${3:-64}; shift 3
node=${NODE_BIN:-node}
# shellcheck source=lib.sh
. "$root/scripts/bench/lib.sh"
start_bench_upstream
start_entries "$@"
# AB_THREADS=1: also CPU per request of each thread kind (the proxy worker, the main thread, V8's GC helpers,
# libuv's pool, an exporter worker…), printed at the end; ticks per thread name go to $threads.<index>.
threads=$(mktemp)
thread_ticks() { for t in /proc/"$1"/task/*; do echo "$(tr ' ' _ <"$t/comm") $(awk '{print $14+$15}' "$t/stat")"; done 2>/dev/null; }
run() { # index seconds -> "requests cpu_ticks rps"
  local i=$1 c0 c1 out n
  [ -n "${AB_THREADS:-}" ] && thread_ticks "${pids[$i]}" >"$threads"
  c0=$(cpu "${pids[$i]}")
  out=$(load_entry "$i" "$2")
  c1=$(cpu "${pids[$i]}")
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  # Ticks by thread name over the slice (a thread started during it counts from zero).
  [ -n "${AB_THREADS:-}" ] && thread_ticks "${pids[$i]}" | awk -v n="$n" 'NR == FNR { b[$1] += $2; next }
    { a[$1] += $2 } END { for (k in a) print k, a[k] - b[k], n }' "$threads" - >>"$threads.$i"
  echo "$n $((c1 - c0)) $(echo "$out" | awk '/Requests\/sec/ {print $2}') $(echo "$out" | awk '/Non-2xx/ {print $NF}')"
}
for i in "${!pids[@]}"; do run "$i" 2 >/dev/null; rm -f "$threads.$i"; done # warm-up
results=$(mktemp)
for k in $(seq 1 "$pairs"); do
  # ABBA inside each pair of slices would need 4 slices; alternating the order per pair does the same job.
  if [ $((k % 2)) -eq 1 ]; then order="0 1"; else order="1 0"; fi
  line="$k"
  for i in $order; do line="$line $i $(run "$i" "$slice")"; done
  echo "$line" >>"$results"
  echo "$line" | awk -v t="$tck" -v a="${names[0]}" -v b="${names[1]}" '{
    for (j = 2; j <= NF; j += 4) { if ($j == 0) { ra = $(j+1); ca = $(j+2); sa = $(j+3) } else { rb = $(j+1); cb = $(j+2); sb = $(j+3) } }
    printf "pair %2d  %-8s %7.1f us/req %7.0f rps   %-8s %7.1f us/req %7.0f rps   cpu ratio %.3f  rps ratio %.3f\n", $1, a, ca/t*1e6/ra, sa, b, cb/t*1e6/rb, sb, (cb/rb)/(ca/ra), sb/sa }'
done
ratios=$(awk '{
    for (j = 2; j <= NF; j += 4) { if ($j == 0) { ra = $(j+1); ca = $(j+2); sa = $(j+3) } else { rb = $(j+1); cb = $(j+2); sb = $(j+3) } }
    print (cb/rb)/(ca/ra), sb/sa }' "$results")
m=$(echo "$ratios" | awk '{print $1}' | median); q=$(echo "$ratios" | awk '{print $2}' | median)
awk -v n="$pairs" -v m="$m" -v q="$q" -v a="${names[0]}" -v b="${names[1]}" 'BEGIN {
  printf "median of %d pairs: %s/%s CPU per request %.3f (%+.1f%%), requests/s %.3f (%+.1f%%)\n", n, b, a, m, (m-1)*100, q, (q-1)*100 }'
rm -f "$results"
if [ -n "${AB_THREADS:-}" ]; then
  for i in "${!pids[@]}"; do
    # Each slice wrote one line per thread name with its requests: ticks over the requests of those slices.
    awk -v t="$tck" -v name="${names[$i]}" '{ ticks[$1] += $2; req[$1] += $3 }
      END { for (k in ticks) if (ticks[k] > 0) printf "threads %-8s %-16s %7.2f us/req\n", name, k, ticks[k]/t*1e6/req[k] }' "$threads.$i" | sort -k4 -rn
    rm -f "$threads.$i"
  done
fi
rm -f "$threads"
