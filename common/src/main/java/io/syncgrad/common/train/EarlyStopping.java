package io.syncgrad.common.train;

/**
 * Model selection on the validation set: remembers the evaluation with the lowest validation
 * loss and says when {@code patience} evaluations in a row have not beaten it. A tie is no
 * improvement, so the earliest of equal models is the best. Every decision is a function of the
 * losses, which are the same bytes for any number of workers, so the run stops at the same step.
 */
public final class EarlyStopping {

  private final int patience;
  private double bestLoss = Double.POSITIVE_INFINITY;
  private long bestStep = -1;
  private int sinceBest;

  /** @param patience evaluations without improvement before stopping; 0: never stop */
  public EarlyStopping(int patience) {
    this.patience = patience;
  }

  /** Takes the validation loss of the evaluation after {@code step}; true when it is the best so far. */
  public boolean observe(long step, double loss) {
    if (loss < bestLoss) {
      bestLoss = loss;
      bestStep = step;
      sinceBest = 0;
      return true;
    }
    sinceBest++;
    return false;
  }

  /** Continues a resumed run: its best model so far, and how many evaluations came after it. */
  public void restore(long step, double loss, int evaluationsSince) {
    bestStep = step;
    bestLoss = loss;
    sinceBest = evaluationsSince;
  }

  /** Whether the run should stop: patience is set and used up. */
  public boolean exhausted() {
    return patience > 0 && sinceBest >= patience;
  }

  /** The step of the best model, -1 before any evaluation. */
  public long bestStep() {
    return bestStep;
  }

  /** The lowest validation loss seen. */
  public double bestLoss() {
    return bestLoss;
  }

  /** Evaluations since the best one. */
  public int sinceBest() {
    return sinceBest;
  }
}
