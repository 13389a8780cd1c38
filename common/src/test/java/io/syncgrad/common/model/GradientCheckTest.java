package io.syncgrad.common.model;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.math.EjmlKernel;
import io.syncgrad.common.optim.GradientTransforms;
import io.syncgrad.common.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.ejml.data.FMatrixRMaj;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Finite-difference checks of backpropagation for every activation, output, loss, penalty and
 * dropout. The network computes in float32, so this is the float32 check of STYLE.md: central
 * differences with a step of {@value #H}, and a looser bound than a double check would use. A
 * wrong derivative (a sign, a factor, a missing term) still shows as a relative error of order 1.
 */
class GradientCheckTest {

  private static final float H = 1e-3f;
  /** Fail when |a−n| / (|a|+|n|) exceeds this ... */
  private static final double MAX_RELATIVE_ERROR = 1e-2;
  /** ... unless |a−n| is below this: float32 round-off in the loss divided by 2h. */
  private static final double ABSOLUTE_FLOOR = 5e-4;
  private static final long SEED = 20261128L;
  private static final int ROWS = 6;

  static Stream<Arguments> networks() {
    List<Arguments> cases = new ArrayList<>();
    for (Activation a : List.of(Activation.RELU, Activation.TANH, Activation.SIGMOID)) {
      cases.add(Arguments.of(a, OutputActivation.SOFTMAX, LossFunction.CROSS_ENTROPY, 0f));
      cases.add(Arguments.of(a, OutputActivation.SOFTMAX, LossFunction.MSE, 0f));
      cases.add(Arguments.of(a, OutputActivation.SIGMOID, LossFunction.MSE, 0f));
      cases.add(Arguments.of(a, OutputActivation.IDENTITY, LossFunction.MSE, 0f));
    }
    cases.add(Arguments.of(Activation.TANH, OutputActivation.SOFTMAX, LossFunction.CROSS_ENTROPY, 0.4f));
    cases.add(Arguments.of(Activation.RELU, OutputActivation.SOFTMAX, LossFunction.CROSS_ENTROPY, 0.3f));
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1} {2} dropout {3}")
  @MethodSource("networks")
  void backpropagationMatchesFiniteDifferences(Activation act, OutputActivation out, LossFunction loss, float dropout) {
    ModelSpec spec = Fixtures.model(5, List.of(4, 3), 3, act, out, loss, dropout);
    Parameters params = Parameters.zeros(spec);
    Initializer.XAVIER.initialize(spec, SEED, params);
    randomizeBiases(params);
    Dataset data = Fixtures.randomData(ROWS, 5, 3, SEED);
    Network net = new Network(spec, EjmlKernel.INSTANCE, ROWS);
    DropoutKey key = new DropoutKey().set(SEED, 7, 2);
    Parameters grad = params.zerosLike();
    int[] order = {0, 1, 2, 3, 4, 5};
    net.load(data.features(), data.labels(), order, 0, ROWS);
    net.gradient(params, key, grad);

    List<String> failures = check(params, grad, () -> {
      net.load(data.features(), data.labels(), order, 0, ROWS);
      return net.gradient(params, key, params.zerosLike());
    });
    assertTrue(failures.isEmpty(), () -> String.join("\n", failures));
  }

  @Test
  void penaltiesMatchFiniteDifferences() {
    ModelSpec spec = Fixtures.model(4, List.of(3), 2, Activation.TANH, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0f);
    Parameters params = Parameters.zeros(spec);
    Initializer.XAVIER.initialize(spec, SEED, params);
    double l1 = 0.03;
    double l2 = 0.2;
    Parameters grad = params.zerosLike();
    GradientTransforms.addPenalties(params, l1, l2, grad);
    List<String> failures = check(params, grad, () -> GradientTransforms.penalty(params, l1, l2));
    assertTrue(failures.isEmpty(), () -> String.join("\n", failures));
  }

  @Test
  void checkerRejectsAGradientTenPercentOff() {
    ModelSpec spec = Fixtures.model(5, List.of(4), 3, Activation.TANH, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0f);
    Parameters params = Parameters.zeros(spec);
    Initializer.XAVIER.initialize(spec, SEED, params);
    Dataset data = Fixtures.randomData(ROWS, 5, 3, SEED);
    Network net = new Network(spec, EjmlKernel.INSTANCE, ROWS);
    Parameters grad = params.zerosLike();
    net.loadRange(data.features(), data.labels(), 0, ROWS);
    net.gradient(params, new DropoutKey(), grad);
    for (int t = 0; t < grad.tensorCount(); t++) {
      FMatrixRMaj g = grad.tensor(t);
      for (int i = 0; i < g.getNumElements(); i++) {
        g.data[i] *= 1.1f;
      }
    }
    List<String> failures = check(params, grad, () -> {
      net.loadRange(data.features(), data.labels(), 0, ROWS);
      return net.evaluate(params);
    });
    assertFalse(failures.isEmpty(), "a gradient scaled by 1.1 must fail the check");
  }

  /** Compares {@code analytic} with central differences of {@code objective} for every parameter. */
  private static List<String> check(Parameters params, Parameters analytic, Objective objective) {
    List<String> failures = new ArrayList<>();
    for (int t = 0; t < params.tensorCount(); t++) {
      FMatrixRMaj p = params.tensor(t);
      for (int i = 0; i < p.getNumElements(); i++) {
        float saved = p.data[i];
        p.data[i] = saved + H;
        double plus = objective.value();
        p.data[i] = saved - H;
        double minus = objective.value();
        p.data[i] = saved;
        double numeric = (plus - minus) / (2 * H);
        double a = analytic.tensor(t).data[i];
        double diff = Math.abs(a - numeric);
        double rel = diff / (Math.abs(a) + Math.abs(numeric));
        if (diff >= ABSOLUTE_FLOOR && rel > MAX_RELATIVE_ERROR) {
          failures.add(String.format("tensor %d (%s of layer %d) index %d: analytic %.6g, numeric %.6g, relative error %.3g",
              t, Parameters.isWeights(t) ? "weights" : "bias", t / 2, i, a, numeric, rel));
        }
      }
    }
    return failures;
  }

  private static void randomizeBiases(Parameters params) {
    java.util.SplittableRandom r = new java.util.SplittableRandom(SEED);
    for (int t = 1; t < params.tensorCount(); t += 2) {
      FMatrixRMaj b = params.tensor(t);
      for (int i = 0; i < b.getNumElements(); i++) {
        b.data[i] = (float) (r.nextDouble() - 0.5);
      }
    }
  }

  @FunctionalInterface
  private interface Objective {
    double value();
  }
}
