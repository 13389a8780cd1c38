#!/usr/bin/env bash
# One-node training throughput next to PyTorch on one thread, measured in one sitting.
# The workload of ../shared/bench: Fashion-MNIST, MLP 784-256-128-10, ReLU, softmax
# cross-entropy, batch 128, SGD momentum 0.9, lr 0.05, float32; both pinned to core 0.
# samples/s counts training time only (evaluation excluded) on both sides.
#
# Needs: apt-get install -y python3-torch python3-numpy dataset-fashion-mnist libopenblas0-openmp
# Usage: deploy/bench/onenode-vs-torch.sh [REPEATS]   (from the project root)
set -euo pipefail
cd "$(dirname "$0")/../.."
repeats=${1:-3}
shared=${SHARED:-../shared}
data=/usr/share/datasets/fashion-mnist
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "install dataset-fashion-mnist first" >&2; exit 1; }
deploy/bin/syncgrad --version >/dev/null   # build outside the measurement
out=$(mktemp -d)
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for shards in 1 8; do
  for r in $(seq "$repeats"); do
    taskset -c 0 deploy/bin/syncgrad train --data "$data" --layers 256,128 --activation relu \
      --optimizer momentum --lr 0.05 --batch-size 128 --shards "$shards" --epochs 1 --threads 1 \
      --plain --out "$out/s$shards-$r" >/dev/null 2>&1
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["samples_per_second"])' "$out/s$shards-$r/summary.json"
  done | median > "$out/syncgrad-$shards"
done
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c 0 /usr/bin/python3 "$shared/bench/torch_mlp.py" \
  --threads 1 --epochs 1 --repeat "$repeats" > "$out/torch.json"
torch=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["samples_per_s"])' "$out/torch.json")
s1=$(cat "$out/syncgrad-1"); s8=$(cat "$out/syncgrad-8")
printf 'pytorch 1 thread            %8.0f samples/s\n' "$torch"
printf 'syncgrad 1 thread, 1 shard  %8.0f samples/s  (%.2fx)\n' "$s1" "$(python3 -c "print($s1/$torch)")"
printf 'syncgrad 1 thread, 8 shards %8.0f samples/s  (%.2fx)\n' "$s8" "$(python3 -c "print($s8/$torch)")"
