#!/usr/bin/env bash
# CPU per request: plain route vs rate-limiting on the local and the redis policy (the redis entry needs
# REDIS_URL). Usage: rate-limit-cpu.sh [seconds] [connections] [repeats]
exec "$(dirname "$0")/cpu-per-request.sh" "${1:-5}" "${2:-64}" "${3:-1}" plain=plain.yaml rl-local=rate-limit-local.yaml rl-redis=rate-limit-redis.yaml
