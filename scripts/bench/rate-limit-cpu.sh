#!/usr/bin/env bash
# CPU cost per request of the gateway (plain route vs rate-limiting local vs redis), measured from the
# process's own CPU time (/proc/<pid>/stat utime+stime) over a fixed wrk run, so a busy machine changes
# the throughput but much less the CPU spent per request. Needs the bench upstream (nginx :9001) and,
# for the redis entry, REDIS_URL. Usage: rate-limit-cpu.sh [seconds] [connections]
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
dur=${1:-5}; conns=${2:-64}; node=${NODE_BIN:-node}
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
for entry in "plain|plain.yaml" "rl-local|rate-limit-local.yaml" "rl-redis|rate-limit-redis.yaml"; do
  IFS='|' read -r name file <<<"$entry"
  GATEWAY_CONFIG=$root/scripts/bench/$file GATEHOUSE_PROXY_LISTEN=127.0.0.1:9140 GATEHOUSE_ADMIN_LISTEN=127.0.0.1:9141 \
    GATEHOUSE_LOG_LEVEL=warn GATEHOUSE_DEMO=false taskset -c 1 "$node" "$root/server/dist/main.js" >"/tmp/rl-cpu-$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/9140) 2>/dev/null && break; sleep 0.1; done
  taskset -c 0 wrk -t1 -c"$conns" -d2s "http://127.0.0.1:9140/bench/items?x=1" >/dev/null 2>&1
  c0=$(cpu $pid)
  out=$(taskset -c 0 wrk -t1 -c"$conns" -d"${dur}s" "http://127.0.0.1:9140/bench/items?x=1" 2>&1)
  c1=$(cpu $pid)
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  awk -v n="$name" -v r="$reqs" -v c=$((c1 - c0)) -v t="$tck" -v b="$bad" 'BEGIN { printf "%-10s %9d req  %7.1f us CPU/req %s\n", n, r, c / t * 1e6 / r, (b ? "non-2xx=" b : "") }'
  kill $pid; wait $pid 2>/dev/null
done
