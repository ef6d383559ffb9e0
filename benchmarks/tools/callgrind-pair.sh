#!/bin/bash
# Instructions per request of one inproc.mjs configuration under callgrind, as instructions.bench.mjs
# counts them (two request counts after the same warm-up; the difference over the extra requests),
# for a quick A/B of one setting without a full bench run. Used for the preshape rows of
# BENCHMARKS.md (benchmarks/results/preshape.json).
#   usage: benchmarks/tools/callgrind-pair.sh <label> <node binary> <repo dir> <inproc mode> [ENV=VALUE ...]
#   e.g.   benchmarks/tools/callgrind-pair.sh on node . full FW=express PRESHAPE=true
#   NLO, NHI (default 2000, 8000), WW (warm-up, default 5000). Prints "<label> <instructions/request>".
set -eu
label=$1 node=$2 dir=$3 mode=$4
shift 4
NLO=${NLO:-2000} NHI=${NHI:-8000} W=${WW:-5000}
out=$(mktemp -d)
declare -A tot
for n in $NLO $NHI; do
  env "$@" W="$W" N="$n" TIMER_SCALE=50 setarch -R valgrind --tool=callgrind --callgrind-out-file="$out/cg.$n" \
    "$node" --single-threaded --hash-seed=1 --random-seed=1 "$dir/benchmarks/tools/inproc.mjs" "$mode" >/dev/null 2>"$out/err.$n"
  tot[$n]=$(grep -m1 '^totals:' "$out/cg.$n" | awk '{print $2}')
done
rm -rf "$out"
echo "$label $(((tot[$NHI] - tot[$NLO]) / (NHI - NLO)))"
