/**
 * The coordinator actor: assigns shards, broadcasts weights, adds shard results in shard order
 * (with {@link io.syncgrad.common.train.StepAggregator}) and checkpoints. Filled by the
 * distributed-training work; until then the one-node trainer in {@code common} runs the
 * coordinator's half of every step.
 */
package io.syncgrad.coordinator;
