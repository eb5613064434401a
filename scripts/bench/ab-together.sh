#!/usr/bin/env bash
# A/B CPU cost per request of two gateway configs loaded at the same time: both gateways on core 1, one
# wrk each (on core 0, half the connections each), for `slices` slices. Whatever slows the machine in a
# given second slows both alike, so their ratio holds still where ab-cpu.sh (one gateway at a time, in
# turn) swung by ±10% between two identical gateways over 20 pairs. Prints each slice's CPU per request and
# throughput, then the ratio of the totals (B/A) and the median of the per-slice ratios.
# Usage: ab-together.sh [slice seconds] [slices] [connections per gateway] A=config.yaml[|VAR=value ...[|Header: value]] B=...
# (entry syntax and BENCH_MAIN as in ab-cpu.sh; `caddy=@caddy` for Caddy with one Go thread, e.g.
# `ab-together.sh 3 12 32 gatehouse=plain.yaml caddy=@caddy`; `fastify=@fastify` for bare @fastify/http-proxy).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
slice=${1:-5}; slices=${2:-12}; conns=${3:-32}; shift 3
node=${NODE_BIN:-node}
# shellcheck source=lib.sh
. "$root/scripts/bench/lib.sh"
start_bench_upstream
start_entries "$@"
out=$(mktemp -d)
# Warm-up, not measured: V8's compiler threads spend about a second of the core in a gateway's first ~10 s
# under load, more for a longer plugin pipeline, and per-request CPU keeps falling for ~20 s; a 3 s warm-up
# charged that to the bigger entry. AB_WARMUP=<seconds> to change it. Then 3 s more: the first load's
# end (wrk resetting its connections) makes Node deoptimise its HTTP code once (suite.mjs, warmUp), and
# the first slice would pay for compiling it again.
load_both "${AB_WARMUP:-15}" >/dev/null
load_both 3 >/dev/null
results=$(mktemp)
for k in $(seq 1 "$slices"); do
  line="$k $(load_both "$slice" | tr '\n' ' ')"
  echo "$line" >>"$results"
  echo "$line" | awk -v t="$tck" -v s="$slice" -v a="${names[0]}" -v b="${names[1]}" '{
    printf "slice %2d  %-8s %7.1f us/req %7.0f rps   %-8s %7.1f us/req %7.0f rps   cpu ratio %.3f%s\n", $1, a, $3/t*1e6/$2, $2/s, b, $5/t*1e6/$4, $4/s, ($5/$4)/($3/$2), ($6 $7 != "") ? "  (non-2xx!)" : "" }'
done
m=$(awk '{ print ($5/$4)/($3/$2) }' "$results" | median)
awk -v t="$tck" -v m="$m" -v a="${names[0]}" -v b="${names[1]}" '{ ra += $2; ca += $3; rb += $4; cb += $5 } END {
  printf "%s %.1f us/req, %s %.1f us/req: %s/%s CPU per request %.3f (%+.1f%%) over all slices, median of slices %.3f (%+.1f%%)\n",
    a, ca/t*1e6/ra, b, cb/t*1e6/rb, b, a, (cb/rb)/(ca/ra), ((cb/rb)/(ca/ra)-1)*100, m, (m-1)*100 }' "$results"
rm -rf "$results" "$out"
