package io.syncgrad.common.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.testing.Fixtures;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The update rules against hand-computed values, on a one-weight slice of a tiny model. */
class OptimizerTest {

  private static final ModelSpec MODEL = Fixtures.model(1, List.of(), 2, Activation.RELU,
      OutputActivation.SOFTMAX, LossFunction.CROSS_ENTROPY, 0f);
  private static final double TOLERANCE = 1e-6;

  @Test
  void sgdMovesAgainstTheGradient() {
    assertEquals(1.0 - 0.1 * 0.5, after(Optimizer.Kind.SGD, 1), TOLERANCE);
  }

  @Test
  void momentumAccumulatesVelocity() {
    // v1 = g, w1 = w0 - lr g; v2 = μ g + g, w2 = w1 - lr (1 + μ) g
    assertEquals(1.0 - 0.1 * 0.5 - 0.1 * 1.9 * 0.5, after(Optimizer.Kind.MOMENTUM, 2), TOLERANCE);
  }

  @Test
  void nesterovLooksAhead() {
    // step k uses g + μ v_k: v1 = g -> 1.9 g; v2 = 1.9 g -> g + 0.9*1.9 g = 2.71 g
    assertEquals(1.0 - 0.1 * 1.9 * 0.5 - 0.1 * 2.71 * 0.5, after(Optimizer.Kind.NESTEROV, 2), TOLERANCE);
  }

  @Test
  void adamFirstStepsMoveByTheLearningRate() {
    // With a constant gradient the bias-corrected ratio m̂/√v̂ is 1: each step moves by lr.
    assertEquals(1.0 - 3 * 0.1, after(Optimizer.Kind.ADAM, 3), 1e-5);
  }

  @Test
  void schedules() {
    LearningRateSchedule step = new LearningRateSchedule(LearningRateSchedule.Kind.STEP, 1.0, 10, 0.5, 0, 0);
    assertEquals(1.0, step.at(9));
    assertEquals(0.5, step.at(10));
    assertEquals(0.25, step.at(25));
    LearningRateSchedule cos = new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 1.0, 0, 1, 100, 0.1);
    assertEquals(1.0, cos.at(0), 1e-12);
    assertEquals(0.55, cos.at(50), 1e-12);
    assertEquals(0.1, cos.at(100), 1e-12);
    assertEquals(0.1, cos.at(1000), 1e-12);
  }

  @Test
  void clippingBoundsTheGlobalNorm() {
    Parameters g = Parameters.zeros(MODEL);
    g.weights(0).data[0] = 3;
    g.bias(0).data[0] = 4;
    assertEquals(5.0, GradientTransforms.clipByGlobalNorm(g, 1.0), 1e-12);
    assertEquals(0.6f, g.weights(0).data[0], 1e-7);
    assertEquals(0.8f, g.bias(0).data[0], 1e-7);
  }

  /**
   * A weight whose gradient turns zero: its moments decay geometrically and would turn subnormal
   * (whose arithmetic takes the CPU's slow path) after some 800 steps; they are stored as +0
   * instead, and the weight is what it was when they were still normal.
   */
  @Test
  void momentsThatDecayBelowTheNormalRangeAreZero() {
    for (Optimizer.Kind kind : new Optimizer.Kind[] {Optimizer.Kind.MOMENTUM, Optimizer.Kind.NESTEROV,
        Optimizer.Kind.ADAM}) {
      Parameters w = Parameters.zeros(MODEL);
      w.weights(0).data[0] = 1f;
      Parameters g = Parameters.zeros(MODEL);
      g.weights(0).data[0] = 0.5f;
      Optimizer opt = new Optimizer(kind, 0.9, 0.9, 0.999, 1e-8, w);
      opt.update(w, g, 0.1);
      g.weights(0).data[0] = 0f;
      float settled = Float.NaN;
      boolean zeroed = false;
      for (int i = 0; i < 3000; i++) {
        opt.update(w, g, 0.1);
        float m = opt.firstMoment().weights(0).data[0];
        String where = kind + " after " + (i + 2) + " updates";
        assertTrue(m == 0f || Math.abs(m) >= Float.MIN_NORMAL, where + ": subnormal first moment " + m);
        if (kind == Optimizer.Kind.ADAM) {
          float v = opt.secondMoment().weights(0).data[0];
          assertTrue(v == 0f || Math.abs(v) >= Float.MIN_NORMAL, where + ": subnormal second moment " + v);
        }
        if (!zeroed && Math.abs(m) < 1e-30f) {
          settled = w.weights(0).data[0];
        }
        zeroed |= m == 0f;
        if (zeroed) {
          assertEquals(settled, w.weights(0).data[0], 0f, where + ": a zeroed moment moves the weight no further");
        }
      }
      assertTrue(zeroed, kind + ": the first moment reached the subnormal range and was zeroed");
    }
  }

  private static double after(Optimizer.Kind kind, int steps) {
    Parameters w = Parameters.zeros(MODEL);
    w.weights(0).data[0] = 1f;
    Parameters g = Parameters.zeros(MODEL);
    g.weights(0).data[0] = 0.5f;
    Optimizer opt = new Optimizer(kind, 0.9, 0.9, 0.999, 1e-8, w);
    for (int i = 0; i < steps; i++) {
      opt.update(w, g, 0.1);
    }
    return w.weights(0).data[0];
  }
}
