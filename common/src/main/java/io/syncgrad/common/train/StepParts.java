package io.syncgrad.common.train;

import java.util.function.IntConsumer;

/**
 * Where the element-wise work of a step's update runs: on the one-node trainer's threads, a part
 * each, or on the calling thread alone. Every element's arithmetic is the same whoever does it,
 * so the parts never change a bit; only the global norm, a sum over the whole vector in one fixed
 * order, stays on the calling thread.
 */
public interface StepParts {

  /** The calling thread alone. */
  StepParts SERIAL = new StepParts() {
    @Override
    public int count() {
      return 1;
    }

    @Override
    public void run(IntConsumer part) {
      part.accept(0);
    }
  };

  /** How many parts the work is cut into. */
  int count();

  /** Runs {@code part.accept(p)} for every p in {@code [0, count())}; returns when all have run. */
  void run(IntConsumer part);
}
