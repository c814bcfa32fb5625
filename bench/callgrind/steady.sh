#!/bin/bash
# Instructions per request in steady state, under callgrind (counts, unlike req/s, do not depend on a
# shared machine's load). Usage:
#   bench/callgrind/steady.sh LABEL WARM N DEPTH -- command...
# `command` is a server that prints "ready PORT", "BENCH_READY http://127.0.0.1:PORT" or "listening on
# 127.0.0.1:PORT". It runs under callgrind with instrumentation off; client.mjs sends WARM requests, switches
# it on for N more over the same connections, then off. Prints user-space instructions per request (kernel
# time, e.g. the socket write, is not counted). Output in $CG_DIR (default /tmp/foyer-callgrind). Use warm-ups
# of 30,000 (keep-alive) to 100,000 (pipelined ×16) so that TurboFan no longer compiles in the window, and
# compare only runs made alone (two valgrinds at once slow each other enough for timers to fire differently).
# CG_OPTS: more valgrind options, split at spaces, never globbed (e.g. --dump-instr=yes for annotate-jit.mjs).
set -euo pipefail
label=$1; warm=$2; n=$3; depth=$4; shift 5
here=$(dirname "$(readlink -f "$0")")
d=${CG_DIR:-/tmp/foyer-callgrind}; mkdir -p "$d"
out=$d/$label-$depth.out; rm -f "$out" "$d/$label.stdout"
read -ra cg_opts <<< "${CG_OPTS:-}"
valgrind --tool=callgrind "${cg_opts[@]}" --instr-atstart=no --callgrind-out-file="$out" "$@" >"$d/$label.stdout" 2>"$d/$label.stderr" &
vpid=$!
for _ in $(seq 1 400); do grep -qE "listening on|BENCH_READY|ready" "$d/$label.stdout" && break; sleep 0.5; done
port=$(grep -oE "127.0.0.1:[0-9]+" "$d/$label.stdout" | head -1 | cut -d: -f2 || true)
[ -z "$port" ] && port=$(grep -oE "ready [0-9]+" "$d/$label.stdout" | cut -d" " -f2)
node "$here/client.mjs" "$port" "$warm" "$n" "$depth" "$vpid" ${CG_PATH:-}
kill -TERM $vpid; wait $vpid || true
total=$(grep -E '^totals:' "$out" | head -1 | awk '{print $2}')
echo "$label warm=$warm n=$n depth=$depth instructions=$total per_request=$((total / n))"
