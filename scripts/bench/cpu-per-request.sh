#!/usr/bin/env bash
# CPU cost per request of the gateway for several configs, measured from the process's own CPU time
# (/proc/<pid>/stat utime+stime) over a fixed wrk run, so a busy machine changes the throughput but much
# less the CPU spent per request. Entries are interleaved `repeats` times so drift hits each alike.
# Starts the shared bench upstream (nginx on :9001) unless it already answers.
# Usage: cpu-per-request.sh [seconds] [connections] [repeats] name=config.yaml[|VAR=value VAR2=value[|Header: value]] ...
#   (the part after the first `|` is extra environment for that entry's gateway, e.g. observability
#   switches; after a second `|`, one request header wrk sends, e.g. a credential. A config path that
#   starts with `/` is used as is, else it is relative to scripts/bench/.)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
dur=${1:-5}; conns=${2:-64}; repeats=${3:-3}; shift 3
node=${NODE_BIN:-node}
# shellcheck source=lib.sh
. "$root/scripts/bench/lib.sh"
start_bench_upstream
trap '[ -n "$upstream" ] && kill $upstream 2>/dev/null' EXIT
for round in $(seq 1 "$repeats"); do
  for entry in "$@"; do
    parse_entry "$entry"
    hdr=(); [ -n "$header" ] && hdr=(-H "$header")
    env GATEHOUSE_ACCESS_LOG=off $extra GATEWAY_CONFIG=$file GATEHOUSE_PROXY_LISTEN=127.0.0.1:9140 GATEHOUSE_ADMIN_LISTEN=127.0.0.1:9141 \
      GATEHOUSE_LOG_LEVEL=warn GATEHOUSE_DEMO=false taskset -c 1 "$node" --v8-pool-size=0 "$root/server/dist/main.js" >"/tmp/cpu-$name.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do up 9140 && break; sleep 0.1; done
    taskset -c 0 wrk "${hdr[@]}" -t1 -c"$conns" -d2s "http://127.0.0.1:9140/bench/items?x=1" >/dev/null 2>&1
    c0=$(cpu $pid)
    out=$(taskset -c 0 wrk "${hdr[@]}" -t1 -c"$conns" -d"${dur}s" "http://127.0.0.1:9140/bench/items?x=1" 2>&1)
    c1=$(cpu $pid)
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    awk -v n="$name" -v r="$reqs" -v c=$((c1 - c0)) -v t="$tck" -v s="$rps" -v b="$bad" -v k="$round" \
      'BEGIN { printf "round %d  %-16s %9d req %9.0f rps %7.1f us CPU/req %s\n", k, n, r, s, c / t * 1e6 / r, (b ? "non-2xx=" b : "") }'
    kill $pid; wait $pid 2>/dev/null
  done
done
