#!/usr/bin/env bash
# One worker's training throughput next to PyTorch on one thread, measured in one sitting.
# The workload of ../shared/bench: Fashion-MNIST, MLP 784-256-128-10, ReLU, softmax
# cross-entropy, batch 128, SGD momentum 0.9, lr 0.05, float32; everything pinned to core 0.
# Both sides report the median epoch of training time (PyTorch: 3 fresh one-epoch runs after a
# warm-up; syncgrad: the 3 epochs of one run, read from metrics.jsonl; evaluation excluded).
#
# Needs: apt-get install -y python3-torch python3-numpy dataset-fashion-mnist libopenblas0-openmp
# Usage: deploy/bench/onenode-vs-torch.sh [KERNEL:SHARDS ...]   (from the project root)
#        default: native:1 native:8 java:1 java:8 ejml:8
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${SHARED:-../shared}
data=/usr/share/datasets/fashion-mnist
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "install dataset-fashion-mnist first" >&2; exit 1; }
cases=("$@"); [ ${#cases[@]} -gt 0 ] || cases=(native:1 native:8 java:1 java:8 ejml:8)
deploy/bin/syncgrad --version >/dev/null 2>&1   # build outside the measurement
out=$(mktemp -d)

median_epoch_rate() {  # metrics.jsonl -> median over epochs of samples / training seconds
  python3 - "$1" <<'PY'
import json, sys, statistics
t, n = {}, {}
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m["type"] == "step":
        t[m["epoch"]] = t.get(m["epoch"], 0) + 128 / m["samples_per_second"]
        n[m["epoch"]] = n.get(m["epoch"], 0) + 128
print(round(statistics.median(n[e] / t[e] for e in t)))
PY
}

env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 taskset -c 0 /usr/bin/python3 \
  "$shared/bench/torch_mlp.py" --threads 1 --epochs 1 --repeat 3 > "$out/torch.json"
torch=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["samples_per_s"])' "$out/torch.json")
printf '%-34s %8s samples/s  1.00x\n' "pytorch $(/usr/bin/python3 -c "import torch; print(torch.__version__)"), 1 thread" "$torch"
for c in "${cases[@]}"; do
  kernel=${c%%:*}; shards=${c##*:}
  run="$out/$kernel-$shards"
  taskset -c 0 deploy/bin/syncgrad train --data "$data" --layers 256,128 --activation relu \
    --optimizer momentum --lr 0.05 --batch-size 128 --shards "$shards" --epochs 3 --threads 1 \
    --kernel "$kernel" --plain --out "$run" >"$run.log" 2>&1
  rate=$(median_epoch_rate "$run/metrics.jsonl")
  printf '%-34s %8s samples/s  %.2fx\n' "syncgrad $kernel, $shards shard(s)" "$rate" "$(python3 -c "print($rate/$torch)")"
done
echo "kernel: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"])' "$out/native-1/summary.json" 2>/dev/null || true)"
