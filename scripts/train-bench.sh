#!/usr/bin/env bash
# Training throughput, Go against PyTorch, side by side (README benchmark table): one EDM
# training step (loss, backward, optimiser) of EDMPrecond + SongUNet 64², 1 channel,
# model_channels 32, channel_mult [1,2,2], one block per level, attention at 16, batch 16,
# 2 threads; Go and PyTorch alternate ROUNDS times and the best img/s of each is kept.
#
#   scripts/train-bench.sh /path/to/NVlabs-edm-checkout [ROUNDS]
#   ENKG_BENCH_BASE=3d712f0 scripts/train-bench.sh EDM_DIR   # ... and the Go code of that commit
#
# PyTorch: Debian's python3-torch (/usr/bin/python3), NVlabs/edm's own networks.py and loss.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
EDM=${1:?usage: scripts/train-bench.sh EDM_DIR [ROUNDS]}
ROUNDS=${2:-2}
BASE=${ENKG_BENCH_BASE:-}
unet_bench_binary /tmp/unet.test
[[ -n $BASE ]] && unet_bench_binary /tmp/unet-base.test "$BASE"
imgs() { "$1" -test.run '^$' -test.bench BenchmarkTrainStep -test.benchtime 4x | awk '/BenchmarkTrainStep/ {for (i=1;i<=NF;i++) if ($(i+1)=="img/s") print $i}'; }
best_go=0; best_pt=0; best_base=0
for r in $(seq "$ROUNDS"); do
  g=$(imgs /tmp/unet.test)
  p=$(/usr/bin/python3 diffusion/unet/torchbench/train_bench.py "$EDM" --threads 2 --batch 16 --steps 4 | awk '/^best/ {print $2}')
  line="round $r: Go $g img/s, PyTorch $p img/s"
  if [[ -n $BASE ]]; then
    b=$(imgs /tmp/unet-base.test)
    line="$line, Go at $BASE $b img/s"
    best_base=$(python3 -c "print(max($best_base, $b))")
  fi
  echo "$line"
  best_go=$(python3 -c "print(max($best_go, $g))"); best_pt=$(python3 -c "print(max($best_pt, $p))")
done
gf=$(/tmp/unet.test -test.run '^$' -test.bench BenchmarkTrainStep -test.benchtime 4x | awk '/BenchmarkTrainStep/ {for (i=1;i<=NF;i++) if ($(i+1)=="GFLOP/s") print $i}')
echo "best: Go $best_go img/s, PyTorch $best_pt img/s, ratio $(python3 -c "print(round($best_go/$best_pt, 2))")×; Go $gf GFLOP/s (7.43 GFLOP per image per step)"
if [[ -n $BASE ]]; then
  echo "best: Go at $BASE $best_base img/s; this tree $(python3 -c "print(round($best_go/$best_base, 2))")× that"
fi
