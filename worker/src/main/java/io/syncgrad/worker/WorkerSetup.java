package io.syncgrad.worker;

import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.metrics.Telemetry;
import io.syncgrad.common.metrics.WorkerMetrics;
import io.syncgrad.common.transport.TensorLinkSettings;
import io.syncgrad.common.transport.Traffic;
import java.util.function.Consumer;

/**
 * What a worker is, whatever phase it is in: fixed when the worker starts, and handed from its
 * registering phase ({@link Worker}) to its run ({@link RunMember}).
 *
 * @param workerId     a name unique in the cluster
 * @param kernel       what multiplies the matrices; its identity was reported to the coordinator
 * @param onStop       told why the worker stopped
 * @param telemetry    hears of the worker's readiness
 * @param metrics      this worker's step metrics
 * @param traffic      the bytes this node's sockets moved, Artery's and the links' alike
 * @param linkSettings frame limits and TLS of the tensor links
 */
record WorkerSetup(String workerId, MatrixKernel kernel, Consumer<Worker.Outcome> onStop, Telemetry telemetry,
    WorkerMetrics.Of metrics, Traffic traffic, TensorLinkSettings linkSettings) {

  /** Says, to the metrics and the health endpoint, that the worker is no longer ready, and why. */
  void notReady(String why) {
    metrics.ready(false);
    telemetry.ready(Telemetry.Role.WORKER, false, why);
  }
}
