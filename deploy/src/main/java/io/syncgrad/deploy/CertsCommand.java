package io.syncgrad.deploy;

import io.syncgrad.common.error.UserException;
import io.syncgrad.deploy.tls.NodeStores;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code syncgrad certs --out DIR --nodes N}: the TLS stores of a cluster of {@code coordinator}
 * and {@code worker} nodes (see {@link NodeStores} for what is in DIR).
 */
@Command(name = "certs", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Make the TLS stores of a cluster: a new certificate authority, a PKCS12 keystore per node "
        + "(DIR/node-I.p12) and one truststore (DIR/trust.p12), each with a random password in DIR/NAME.password. "
        + "Every file is readable by its owner only; the authority's key is not kept, so a node added later "
        + "needs a new set for every node.")
final class CertsCommand implements Callable<Integer> {

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "A folder that does not exist yet.")
  private Path out;

  @Option(names = "--nodes", required = true, paramLabel = "N",
      description = "Keystores to make: one per node (the coordinator and each worker).")
  private int nodes;

  @Option(names = "--validity", defaultValue = "365d", paramLabel = "DURATION",
      description = "How long the certificates are valid (default 365d).")
  private String validity;

  @Override
  public Integer call() throws IOException {
    List<String> problems = new ArrayList<>();
    if (nodes < 1 || nodes > 10_000) {
      problems.add("--nodes must be in 1..10000, got " + nodes);
    }
    if (Files.exists(out)) {
      problems.add("--out " + out + " exists already: certs makes a new folder and never overwrites stores");
    }
    Duration valid = null;
    try {
      valid = Durations.parse("--validity", validity);
    } catch (UserException e) {
      problems.addAll(e.problems());
    }
    if (!problems.isEmpty()) {
      throw new UserException(problems);
    }
    List<String> names = new ArrayList<>();
    for (int i = 1; i <= nodes; i++) {
      names.add("node-" + i);
    }
    NodeStores.write(out, names, valid, true);
    Path dir = out.toAbsolutePath();
    System.out.println("wrote the TLS stores of " + nodes + " node(s) to " + dir + " (owner-only files):");
    System.out.println("  trust.p12             every node's --tls-truststore");
    System.out.println("  node-1.p12 .. node-" + nodes + ".p12  one node's --tls-keystore each; copy only its own "
        + "store, its .password and trust.p12 (+ trust.password) to each machine");
    System.out.println("passwords are read from NAME.password beside each store, or from $"
        + NodeAddress.KEYSTORE_PASSWORD + " and $" + NodeAddress.TRUSTSTORE_PASSWORD);
    System.out.println("e.g. syncgrad coordinator --tls-keystore " + dir.resolve("node-1.p12") + " --tls-truststore "
        + dir.resolve(NodeStores.TRUST_STORE) + " ...");
    return 0;
  }
}
