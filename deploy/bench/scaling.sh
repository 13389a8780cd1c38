#!/usr/bin/env bash
# Cluster scaling on this machine, in one sitting: samples/s of `syncgrad launch --workers 1`
# and `--workers 2` (separate JVM processes on 127.0.0.1; tensors on tensor links, the rest on
# Artery) beside PyTorch DDP (gloo) with --world 1 and 2, and the split of a syncgrad step's time.
# Workload: Fashion-MNIST, 784-256-128-10, batch 128, SGD momentum 0.9, lr 0.05, one epoch.
#
# Needs: apt-get install -y python3-torch python3-numpy dataset-fashion-mnist libopenblas0-openmp
# Usage: deploy/bench/scaling.sh [SHARDS]   (from the project root; default 8 shards)
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${SHARED:-../shared}
shards=${1:-8}
data=/usr/share/datasets/fashion-mnist
deploy/bin/syncgrad --version >/dev/null 2>&1
out=$(mktemp -d)
for w in 1 2; do
  deploy/bin/syncgrad launch --workers "$w" --data "$data" --layers 256,128 --optimizer momentum --lr 0.05 \
    --batch-size 128 --shards "$shards" --epochs 1 --out "$out/w$w" >"$out/w$w.log" 2>&1
  python3 - "$out/w$w/summary.json" "$w" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); x = d["distributed"]; s = x["step_time_split"]
print(f"syncgrad launch --workers {sys.argv[2]}: {d['samples_per_second']:.0f} samples/s, step {x['mean_step_ms']} ms "
      f"(compute {s['compute']:.0%}, communication {s['communication']:.0%}, aggregation+update {s['aggregation_update']:.0%})")
PY
done
python3 - "$out/w1/summary.json" "$out/w2/summary.json" <<'PY'
import json, sys
a, b = (json.load(open(p))["samples_per_second"] for p in sys.argv[1:])
print(f"syncgrad 2 workers / 1 worker: {b / a:.2f}x")
PY
for world in 1 2; do
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$shared/bench/torch_ddp.py" --world "$world" \
    --epochs 1 --repeat 1 > "$out/ddp$world.json" 2>/dev/null
  echo "pytorch ddp --world $world: $(cat "$out/ddp$world.json")"
done
