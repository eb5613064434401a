#!/usr/bin/env bash
# Issue 7's number: CPU per request of the plain route with the access log to a file, request metrics and
# tracing at 10% sampling (exported to a local OTLP sink that discards), against all of them off; ABBA
# order per round. The sink runs on core 0 with wrk: on the gateway's core it inflated the tracing cost.
# Usage: scripts/bench/observability-cpu.sh [seconds] [connections] [repeats]
set -u
here=$(cd "$(dirname "$0")" && pwd)
node=${NODE_BIN:-node}
log=$(mktemp -d)/access.log
taskset -c 0 "$node" -e "require('node:http').createServer((q,s)=>{q.resume();q.on('end',()=>s.end('{}'))}).listen(14318,'127.0.0.1')" & sink=$!
trap 'kill $sink 2>/dev/null; rm -rf "$(dirname "$log")"' EXIT
off="GATEHOUSE_ACCESS_LOG=off GATEHOUSE_METRICS=false"
on="GATEHOUSE_ACCESS_LOG=$log GATEHOUSE_METRICS=true GATEHOUSE_OTLP_ENDPOINT=http://127.0.0.1:14318 GATEHOUSE_TRACE_SAMPLE_RATIO=0.1"
NODE_BIN=$node "$here/cpu-per-request.sh" "${1:-5}" "${2:-64}" "${3:-3}" "off=plain.yaml|$off" "on=plain.yaml|$on" "on-b=plain.yaml|$on" "off-b=plain.yaml|$off"
echo "access log lines written: $(cat "$log"* 2>/dev/null | wc -l)"
