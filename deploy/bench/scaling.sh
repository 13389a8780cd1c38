#!/usr/bin/env bash
# Cluster scaling in one sitting, beside PyTorch DDP (gloo) on the same machine.
#
# Weak scaling: W worker processes (`syncgrad launch --workers W`, one thread each) at batch 128*W
# with 4*W shards, so that every worker computes the same 4 shards of 32 rows as the one-node
# trainer at batch 128 with 4 shards on one pinned core; PyTorch DDP at global batch 128*W against
# plain PyTorch on one thread. Strong scaling: 2 workers at batch 128. Overhead: `train --workers 1`
# and `launch --workers 1` against the one-node trainer, same shards and threads.
# Workload: Fashion-MNIST, 784-256-128-10, SGD momentum 0.9, lr 0.05, EPOCHS epochs.
#
# Needs: apt-get install -y python3-torch python3-numpy dataset-fashion-mnist libopenblas0-openmp
# Usage: deploy/bench/scaling.sh [WORKERS...]   (from the project root; default: 2; e.g. 1 2 4 8)
# EPOCHS (default 2) sets the run length. OpenBLAS core-type overrides are unset on both sides.
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${SHARED:-../shared}
epochs=${EPOCHS:-2}
workers=("${@:-2}")
data=/usr/share/datasets/fashion-mnist
bare() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; }
deploy/bin/syncgrad --version >/dev/null 2>&1
out=$(mktemp -d)
common=(--data "$data" --layers 256,128 --optimizer momentum --lr 0.05 --seed 1 --threads 1 --epochs "$epochs")
rate() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["samples_per_second"])' "$1/summary.json"; }
share() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["distributed"]; print(" ".join(f"{k} {v:.0%}" for k, v in d["compute_share_of_step"].items()))' "$1/summary.json"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }

bare taskset -c 0 deploy/bin/syncgrad train --batch-size 128 --shards 4 "${common[@]}" --out "$out/one" >"$out/one.log" 2>&1
one=$(rate "$out/one")
echo "one-node, batch 128, 4 shards, one pinned core: $one samples/s"
bare deploy/bin/syncgrad train --workers 1 --batch-size 128 --shards 4 "${common[@]}" --out "$out/t1" >"$out/t1.log" 2>&1
bare deploy/bin/syncgrad launch --workers 1 --batch-size 128 --shards 4 "${common[@]}" --out "$out/l1" >"$out/l1.log" 2>&1
echo "train --workers 1: $(rate "$out/t1") samples/s ($(ratio "$(rate "$out/t1")" "$one") of one-node); launch --workers 1: $(rate "$out/l1") ($(ratio "$(rate "$out/l1")" "$one"))"
for w in "${workers[@]}"; do
  bare deploy/bin/syncgrad launch --workers "$w" --batch-size $((128 * w)) --shards $((4 * w)) "${common[@]}" \
    --out "$out/w$w" >"$out/w$w.log" 2>&1
  echo "launch --workers $w, batch $((128 * w)) (weak): $(rate "$out/w$w") samples/s, $(ratio "$(rate "$out/w$w")" "$one") of one-node; compute share of a step: $(share "$out/w$w")"
done
bare deploy/bin/syncgrad launch --workers 2 --batch-size 128 --shards 8 "${common[@]}" --out "$out/s2" >"$out/s2.log" 2>&1
echo "launch --workers 2, batch 128 (strong): $(rate "$out/s2") samples/s, $(ratio "$(rate "$out/s2")" "$one") of one-node"
t1=$(bare taskset -c 0 /usr/bin/python3 "$shared/bench/torch_mlp.py" --threads 1 --epochs 1 --repeat 3 \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["samples_per_s"])')
echo "pytorch, 1 thread: $t1 samples/s"
for w in "${workers[@]}"; do
  t=$(bare /usr/bin/python3 "$shared/bench/torch_ddp.py" --world "$w" --global-batch $((128 * w)) --epochs 1 --repeat 2 \
    2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["samples_per_s"])')
  echo "pytorch ddp --world $w, global batch $((128 * w)): $t samples/s, $(ratio "$t" "$t1") of one thread"
done
