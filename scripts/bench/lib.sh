# Shared by the benchmark scripts of this directory (sourced; expects $root).
tck=$(getconf CLK_TCK)
# CPU ticks (user + system, all threads) of a process so far.
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
up() { (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null; }
# Starts the shared bench upstream (nginx on :9001, core 0) unless something answers there; sets $upstream.
upstream=
start_bench_upstream() {
  if ! up 9001; then
    taskset -c 0 nginx -c "$root/../shared/bench/nginx-upstream.conf" & upstream=$!
    for _ in $(seq 1 100); do up 9001 && break; sleep 0.1; done
  fi
}
# name=config.yaml[|VAR=value ...[|Header: value]] -> $name $file $extra $header (relative configs are in scripts/bench/).
parse_entry() {
  local rest
  name=${1%%=*}; rest=${1#*=}; file=${rest%%|*}; extra=; header=
  [ "$file" != "$rest" ] && extra=${rest#*|}
  case $extra in *'|'*) header=${extra#*|}; extra=${extra%%|*} ;; esac
  case $file in /*) ;; *) file=$root/scripts/bench/$file ;; esac
}
# The gateways of the A/B scripts: one per entry, on core 1, proxy ports 9240, 9250, … (admin +1), output in
# /tmp/ab-<name>.log; `BENCH_MAIN=<main.js>` among an entry's variables runs that build. The entry
# `caddy=@caddy` is Caddy instead (GOMAXPROCS=1, ../shared/bench/Caddyfile), `fastify=@fastify` bare
# @fastify/http-proxy (the suite's Node peer). Sets pids, names,
# ports and hdrs, stops the gateways (and the upstream start_bench_upstream started) on exit, and returns
# once each one listens. Expects $node.
stop_entries() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$upstream" ] && kill "$upstream" 2>/dev/null
}
start_entries() {
  local port=9240 entry main p
  pids=(); names=(); ports=(); hdrs=()
  trap stop_entries EXIT
  for entry in "$@"; do
    if [ "$entry" = "caddy=@caddy" ]; then
      # The peer of ../shared/bench (Caddyfile, :9102), on core 1 with one Go thread, as run-peers.sh runs it.
      GOMAXPROCS=1 taskset -c 1 caddy run --config "$root/../shared/bench/Caddyfile" --adapter caddyfile >/tmp/ab-caddy.log 2>&1 &
      pids+=($!); names+=(caddy); ports+=(9102); hdrs+=("")
      continue
    fi
    if [ "$entry" = "fastify=@fastify" ]; then
      # Bare @fastify/http-proxy as the suite runs it (../shared/bench/node-peers, installed by the suite into
      # BENCH_PEERS_DIR), on core 1: the target "1.5x bare @fastify/http-proxy" measured in pairs.
      local peers=${BENCH_PEERS_DIR:-$HOME/.cache/gatehouse-bench-peers}
      [ -f "$peers/node_modules/@fastify/http-proxy/package.json" ] || { echo "no @fastify/http-proxy in $peers: run node scripts/bench/suite.mjs once (it installs the peers)" >&2; exit 1; }
      taskset -c 1 "$node" "$peers/fastify-http-proxy.js" 9106 >/tmp/ab-fastify.log 2>&1 &
      pids+=($!); names+=(fastify); ports+=(9106); hdrs+=("")
      continue
    fi
    parse_entry "$entry"
    main=$(echo "$extra" | grep -o 'BENCH_MAIN=[^ ]*' | cut -d= -f2)
    env GATEHOUSE_ACCESS_LOG=off $extra GATEWAY_CONFIG=$file GATEHOUSE_PROXY_LISTEN=127.0.0.1:$port GATEHOUSE_ADMIN_LISTEN=127.0.0.1:$((port + 1)) \
      GATEHOUSE_LOG_LEVEL=warn GATEHOUSE_DEMO=false taskset -c 1 "$node" --v8-pool-size=0 "${main:-$root/server/dist/main.js}" >"/tmp/ab-$name.log" 2>&1 &
    pids+=($!); names+=("$name"); ports+=($port); hdrs+=("$header")
    port=$((port + 10))
  done
  for p in "${ports[@]}"; do for _ in $(seq 1 300); do up "$p" && break; sleep 0.1; done; done
}
# wrk's output for entry <index> over <seconds> (on core 0, $conns connections, the entry's header).
load_entry() {
  local h=()
  [ -n "${hdrs[$1]}" ] && h=(-H "${hdrs[$1]}")
  taskset -c 0 wrk "${h[@]}" -t1 -c"$conns" -d"$2s" "http://127.0.0.1:${ports[$1]}/bench/items?x=1" 2>&1
}
# Loads entries 0 and 1 at the same time for <seconds> (one wrk each); one line per entry: requests, CPU ticks
# of its process over the load, then its non-2xx answers if it had any. Expects $out, a scratch directory.
load_both() {
  local i c0=() c1=() w=()
  for i in 0 1; do c0[$i]=$(cpu "${pids[$i]}"); done
  for i in 0 1; do
    load_entry "$i" "$1" >"$out/$i" &
    w+=($!)
  done
  wait "${w[@]}"
  for i in 0 1; do c1[$i]=$(cpu "${pids[$i]}"); done
  for i in 0 1; do
    echo "$(awk '/requests in/ {print $1}' "$out/$i") $((c1[i] - c0[i])) $(awk '/Non-2xx/ {print $NF}' "$out/$i")"
  done
}
# The median of numbers, one per line.
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }'; }
