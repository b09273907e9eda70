#!/usr/bin/env bash
# Regenerate benchmarks/results/: every shipped model beside every classical baseline on ../shared/datasets/eval,
# then the speed benchmark, then the results page (benchmarks/results/README.md).
#   bash benchmarks/run_all.sh           # everything (about an hour on 2 cores, most of it non-local means)
#   REUSE=1 bash benchmarks/run_all.sh   # keep the scores of each baseline and each unchanged model (same weights
#                                        # and code) from the report
#                                        # already there when its identity row proves the inputs are the same
#   CORE=1 ...                           # only the rows the flagship's targets need
#   SKIP_SPEED=1 ...                     # without the speed benchmark
#   SHARD=0/2 ... & SHARD=1/2 ...        # split the rows between processes (then run results_page.py)
#   FLAGSHIP=none ...                    # leave the flagship out (score the originals while it trains; with
#                                        # REUSE=1 a later full run keeps their rows)
#   MODELS="lumen dncnn" ...             # score these models on every row (default: the flagship everywhere, each
#                                        # original system on the rows of its own degradation)
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DATASETS:-../shared/datasets}
OUT=benchmarks/results
DR=.venv/bin/darkroom
mkdir -p "$OUT"

BASELINES=(identity gamma clahe histeq median3 bilateral nlm gamma+nlm gamma+median3)
FLAGSHIP=${FLAGSHIP:-lumen}
# Each original system on the rows of the degradation it was built for (its own preset and data), the flagship
# on every row; models not shipped are skipped.
originals_for() {  # originals_for ROW_NAME: the original models scored on that row
  case $1 in
    *-dark-sp) echo residual-cnn resnet16 ;;
    *-lowlight | lowlight-sci) echo skipnet llcnn zero-dce ;;
    *-gauss25) echo dncnn ;;
  esac
}

ROW=0
run() {  # run NAME ARGS...: one evaluation of every method, written as JSON, Markdown and a figure
  local name=$1; shift
  ROW=$((ROW + 1))
  if [ -n "${SHARD:-}" ] && [ $(((ROW - 1) % ${SHARD#*/})) -ne "${SHARD%/*}" ]; then return 0; fi
  local methods=() reuse=() models
  if [ -n "${MODELS:-}" ]; then models=$MODELS; else models="$FLAGSHIP $(originals_for "$name")"; fi
  for m in "${BASELINES[@]}" $models; do methods+=(--method "$m"); done
  [ -n "${REUSE:-}" ] && [ -f "$OUT/$name.json" ] && reuse=(--reuse "$OUT/$name.json")
  echo "== $name"
  $DR evaluate "$@" "${methods[@]}" "${reuse[@]}" -q --skip-missing \
    --json "$OUT/$name.json" --markdown "$OUT/$name.md" --figure "$OUT/$name.jpg" > /dev/null
}

# The flagship's targets: Gaussian noise, darkness + noise, heavy salt-and-pepper, clean input, real noise.
for set in cbsd68 kodak24; do
  for p in gauss15 gauss25 gauss50 lowlight dark-gauss dark-sp sp20 identity; do run "$set-$p" "$D/eval/$set" --preset $p; done
done
run realnoise-cc --pairs "$D/eval/realnoise-cc/noisy" "$D/eval/realnoise-cc/clean" --dataset-name realnoise-cc
MODELS=dense-ae run mnist-mnist --mnist "$D/mnist/t10k-images-idx3-ubyte.gz"

if [ -z "${CORE:-}" ]; then
  for set in set12 bsd68; do
    for p in gauss15 gauss25 gauss50; do run "$set-$p" "$D/eval/$set" --preset $p; done
  done
  for set in cbsd68 kodak24; do
    for p in sp05 poisson30 speckle10 grain25 jpeg10 jpeg25; do run "$set-$p" "$D/eval/$set" --preset $p; done
  done
  run lowlight-sci --unpaired "$D/eval/lowlight-sci" --dataset-name lowlight-sci
fi
[ -n "${SHARD:-}" ] && exit 0
[ -n "${SKIP_SPEED:-}" ] || .venv/bin/python benchmarks/speed.py --backends torch onnx
.venv/bin/python benchmarks/results_page.py
