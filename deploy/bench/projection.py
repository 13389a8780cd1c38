#!/usr/bin/env python3
"""Step time on paper for W = 8..256 workers on 10, 25 and 100 Gbit/s networks, weak scaling
(each worker computes 128 rows a step of the 784-256-128-10 model), for three data planes:

  tree     syncgrad's reduce-scatter + all-gather among the workers, the coordinator off the path:
           each worker sends and receives 2*P*(W-1)/W floats a step in two phases of W-1 frames.
  chain    the landed design before it: the coordinator sends the weights to every worker and the
           running sum passes worker -> coordinator -> next worker, W hops one after the other.
  ps       a single parameter server: every worker sends its gradient to one node, which sends the
           weights back to every worker.

Constants are measured on the 2-core development machine (deploy/bench/RESULTS.md says how); the
network is taken at line rate with LATENCY_S per frame. Usage: deploy/bench/projection.py
"""
import sys

P = 235_146                    # parameters of 784-256-128-10
BYTES = 4 * P                  # one float32 copy of them
COMPUTE_S = 3.1e-3             # one worker's 4 shards of 32 rows, forward + backward + tree sum, one core
UPDATE_S = 0.8e-3              # mean, norm and momentum update of the whole vector on every worker
CPU_PER_BYTE_S = 0.4e-9        # encode + copy + decode of a frame's floats, sender and receiver together
FRAME_CPU_S = 20e-6            # fixed cost of one frame: protobuf envelope, queue, wake-up
LATENCY_S = 20e-6              # one-way network latency of a frame

def link_time(nbytes, gbit):
    return nbytes * 8 / (gbit * 1e9)

def tree(w, gbit):
    chunk = BYTES / w
    phase = (w - 1) * (link_time(chunk, gbit) + FRAME_CPU_S + CPU_PER_BYTE_S * chunk) + LATENCY_S
    return COMPUTE_S + 2 * phase + UPDATE_S

def chain(w, gbit):
    # The coordinator writes the weights W times, then W hops of the running sum, each in and out.
    weights = w * (link_time(BYTES, gbit) + CPU_PER_BYTE_S * BYTES)
    hops = w * (2 * link_time(BYTES, gbit) + 2 * CPU_PER_BYTE_S * BYTES + 2 * LATENCY_S)
    return COMPUTE_S + weights + hops + UPDATE_S

def ps(w, gbit):
    # The server's NIC carries W gradients in and W weights out; it adds and updates once.
    io = 2 * w * (link_time(BYTES, gbit) + CPU_PER_BYTE_S * BYTES / 2)
    return COMPUTE_S + io + UPDATE_S + w * 0.1e-3

print("| W | network | tree (ms) | chain (ms) | parameter server (ms) | tree samples/s | tree vs 1 worker |")
print("|---|---|---|---|---|---|---|")
one = 128 / (COMPUTE_S + UPDATE_S)
for gbit in (10, 25, 100):
    for w in (8, 16, 32, 64, 128, 256):
        t = tree(w, gbit)
        print(f"| {w} | {gbit} Gbit/s | {t * 1e3:.1f} | {chain(w, gbit) * 1e3:.0f} | {ps(w, gbit) * 1e3:.0f} | "
              f"{128 * w / t:,.0f} | {128 * w / t / one:.1f}x |")
sys.exit(0)
