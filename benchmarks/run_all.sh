#!/usr/bin/env bash
# Regenerate benchmarks/results/: every shipped model beside the classical baselines on ../shared/datasets/eval,
# then the speed benchmark, then the results page (benchmarks/results/README.md).
#   bash benchmarks/run_all.sh           # everything (about an hour on 2 cores, most of it non-local means)
#   CORE=1 bash benchmarks/run_all.sh    # only what the flagship's targets need (about 25 minutes)
#   SKIP_SPEED=1 ...                     # without the speed benchmark
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DATASETS:-../shared/datasets}
OUT=benchmarks/results
DR=.venv/bin/darkroom
mkdir -p "$OUT"

run() {  # run NAME ARGS...: one evaluation, written as JSON, Markdown and a figure
  local name=$1; shift
  echo "== $name"
  $DR evaluate "$@" -q --skip-missing --json "$OUT/$name.json" --markdown "$OUT/$name.md" --figure "$OUT/$name.png" \
    > /dev/null
}
LOWLIGHT_METHODS=(--method identity --method clahe --method gamma+median3 --method gamma+nlm --method lumen
  --method skipnet --method llcnn --method residual-cnn --method resnet16 --method zero-dce)

# The flagship's targets: Gaussian noise, darkness + noise, heavy salt-and-pepper, clean input, real noise.
for set in cbsd68 kodak24; do
  for p in gauss15 gauss25 gauss50; do
    run "$set-$p" "$D/eval/$set" --preset $p --method identity --method nlm --method lumen --method dncnn
  done
  for p in lowlight dark-gauss dark-sp; do run "$set-$p" "$D/eval/$set" --preset $p "${LOWLIGHT_METHODS[@]}"; done
  run "$set-sp20" "$D/eval/$set" --preset sp20 --method identity --method median3 --method lumen
  run "$set-identity" "$D/eval/$set" --preset identity --method identity --method gamma --method clahe --method lumen
done
run realnoise-cc --pairs "$D/eval/realnoise-cc/noisy" "$D/eval/realnoise-cc/clean" --method identity --method nlm \
  --method lumen --dataset-name realnoise-cc
run mnist-mnist --mnist "$D/mnist/t10k-images-idx3-ubyte.gz" --method identity --method median3 --method dense-ae

if [ -z "${CORE:-}" ]; then
  for set in set12 bsd68; do
    for p in gauss15 gauss25 gauss50; do
      run "$set-$p" "$D/eval/$set" --preset $p --method identity --method nlm --method lumen --method dncnn
    done
  done
  for set in cbsd68 kodak24; do
    run "$set-sp05" "$D/eval/$set" --preset sp05 --method identity --method median3 --method lumen
    for p in poisson30 speckle10; do run "$set-$p" "$D/eval/$set" --preset $p --method identity --method nlm --method lumen; done
  done
  run lowlight-sci --unpaired "$D/eval/lowlight-sci" --method identity --method gamma --method clahe --method lumen \
    --method zero-dce --dataset-name lowlight-sci
fi
[ -n "${SKIP_SPEED:-}" ] || .venv/bin/python benchmarks/speed.py --backends torch onnx
.venv/bin/python benchmarks/results_page.py
