/**
 * The worker actor: registers with the coordinator, owns virtual shards, and answers each
 * weights broadcast with one gradient sum per owned shard (computed by
 * {@link io.syncgrad.common.train.ShardComputer}). Filled by the distributed-training work;
 * until then the one-node trainer in {@code common} runs the worker's half of every step.
 */
package io.syncgrad.worker;
