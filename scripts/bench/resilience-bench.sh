#!/usr/bin/env bash
# Issue 5's number: throughput of a route with a closed circuit breaker and active + passive health checks
# against the plain route, measured in one run of the peer benchmark (the machine is noisy: compare the
# ratio within a run, and repeat). Usage: scripts/bench/resilience-bench.sh [seconds] [connections] [repeats]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
node=${NODE_BIN:-$(command -v node)}
dur=${1:-8}; conns=${2:-64}; repeats=${3:-2}
entry() { # name config port
  echo "$1|env GATEWAY_CONFIG=$root/scripts/bench/$2 GATEHOUSE_PROXY_LISTEN=127.0.0.1:$3 GATEHOUSE_ADMIN_LISTEN=127.0.0.1:$(($3 + 1)) GATEHOUSE_LOG_LEVEL=warn GATEHOUSE_ACCESS_LOG=off $node --v8-pool-size=0 $root/server/dist/main.js|$3"
}
entries=()
for i in $(seq 1 "$repeats"); do
  entries+=("$(entry "plain-$i" plain.yaml 9110)" "$(entry "breaker+health-$i" resilience.yaml 9120)")
done
PEERS=none NODE_BIN=$node bash "$root/../shared/bench/run-peers.sh" "$dur" "$conns" "${entries[@]}"
