package io.syncgrad.common.error;

/**
 * The cluster a node needs did not come: no coordinator for a worker within its join timeout,
 * not enough workers for a coordinator within its wait timeout. Not the user's input and not a
 * bug, so the command line exits with a status of its own (3), which supervisors such as
 * Kubernetes can tell from a bad input (2): the same command may well succeed when retried.
 */
public class ClusterUnavailableException extends UserException {

  private static final long serialVersionUID = 1L;

  public ClusterUnavailableException(String message) {
    super(message);
  }
}
