# Shared by cpu-per-request.sh and ab-cpu.sh (sourced; expects $root).
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
