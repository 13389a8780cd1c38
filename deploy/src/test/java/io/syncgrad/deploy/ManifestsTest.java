package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The Kubernetes manifests of {@code deploy/k8s/} keep the product's promises, read as a cluster
 * would read them: every {@code syncgrad} argument is accepted by the command it names, with
 * valid values; ports, paths, probes, volumes and the Secret agree with each other and with the
 * configuration; the run directory is on a PersistentVolumeClaim, with checkpoints and
 * {@code --resume auto}; restarts are allowed; nodes use TLS from the Secret that
 * {@code tls-secret.sh} makes with {@code syncgrad certs}, and nothing turns it off. No cluster
 * runs here.
 */
class ManifestsTest {

  private static final Path K8S = Path.of("k8s");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Pattern VARIABLE = Pattern.compile("\\$\\(([A-Z_]+)\\)");
  /** Values Kubernetes gives the downward-API variables, for parsing. */
  private static final Map<String, String> FIELD_VALUES = Map.of("metadata.namespace", "training",
      "status.podIP", "10.1.2.3", "metadata.name", "syncgrad-workers-x7k2p");

  private static final List<JsonNode> docs = new ArrayList<>();

  /** One syncgrad container of a workload, its arguments with the variables expanded. */
  private record Node(String workload, JsonNode job, JsonNode pod, JsonNode container, List<String> args) {
    String command() {
      return args.get(0);
    }

    /** The value of {@code --name}, given as {@code --name=v} or {@code --name v}; null when absent. */
    String option(String name) {
      for (int i = 0; i < args.size(); i++) {
        if (args.get(i).startsWith(name + "=")) {
          return args.get(i).substring(name.length() + 1);
        }
        if (args.get(i).equals(name) && i + 1 < args.size()) {
          return args.get(i + 1);
        }
      }
      return null;
    }

    int containerPort(String name) {
      for (JsonNode p : container.path("ports")) {
        if (p.path("name").asText().equals(name)) {
          return p.path("containerPort").asInt();
        }
      }
      throw new AssertionError(workload + ": no container port named " + name);
    }

    /** The volume mounted at the longest mount path that contains {@code path}. */
    JsonNode volumeOf(String path) {
      String best = null;
      String volume = null;
      for (JsonNode m : container.path("volumeMounts")) {
        String at = m.path("mountPath").asText().replaceAll("/$", "");
        if ((path.equals(at) || path.startsWith(at + "/")) && (best == null || at.length() > best.length())) {
          best = at;
          volume = m.path("name").asText();
        }
      }
      assertNotNull(volume, workload + ": nothing is mounted at " + path);
      for (JsonNode v : pod.path("volumes")) {
        if (v.path("name").asText().equals(volume)) {
          return v;
        }
      }
      throw new AssertionError(workload + ": no volume " + volume);
    }

    String env(String name) {
      for (JsonNode e : container.path("env")) {
        if (e.path("name").asText().equals(name)) {
          return e.has("value") ? e.path("value").asText() : null;
        }
      }
      return null;
    }
  }

  @BeforeAll
  static void load() throws IOException {
    assertTrue(Files.isDirectory(K8S), "the manifests are in " + K8S.toAbsolutePath());
    try (DirectoryStream<Path> files = Files.newDirectoryStream(K8S, "*.yaml")) {
      for (Path f : files) {
        try (var values = YAML.readerFor(JsonNode.class).readValues(f.toFile())) {
          while (values.hasNext()) {
            JsonNode doc = (JsonNode) values.next();
            if (doc != null && doc.isObject()) {
              docs.add(doc);
            }
          }
        }
      }
    }
  }

  private static List<Node> nodes() {
    List<Node> out = new ArrayList<>();
    for (JsonNode d : docs) {
      JsonNode pod = d.path("spec").path("template").path("spec");
      for (JsonNode c : pod.path("containers")) {
        List<String> args = new ArrayList<>();
        c.path("args").forEach(a -> args.add(expand(a.asText(), c, d)));
        if (!args.isEmpty() && List.of("coordinator", "worker", "train", "launch").contains(args.get(0))) {
          out.add(new Node(d.path("metadata").path("name").asText(), d, pod, c, args));
        }
      }
    }
    return out;
  }

  /** Expands {@code $(VAR)} as Kubernetes does; a variable the container does not declare is an error. */
  private static String expand(String arg, JsonNode container, JsonNode doc) {
    Matcher m = VARIABLE.matcher(arg);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      String value = null;
      for (JsonNode e : container.path("env")) {
        if (e.path("name").asText().equals(m.group(1))) {
          value = e.has("value") ? e.path("value").asText()
              : FIELD_VALUES.get(e.path("valueFrom").path("fieldRef").path("fieldPath").asText());
        }
      }
      assertNotNull(value, doc.path("metadata").path("name").asText() + ": " + arg + " names $(" + m.group(1)
          + "), which the container does not declare");
      m.appendReplacement(sb, Matcher.quoteReplacement(value));
    }
    m.appendTail(sb);
    return sb.toString();
  }

  private static Node only(String command) {
    List<Node> found = nodes().stream().filter(n -> n.command().equals(command)).toList();
    assertEquals(1, found.size(), "one " + command + " workload: " + found);
    return found.get(0);
  }

  private static JsonNode doc(String kind, String name) {
    return docs.stream().filter(d -> d.path("kind").asText().equals(kind)
        && d.path("metadata").path("name").asText().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " " + name + " in " + K8S));
  }

  @Test
  void everyArgumentIsAcceptedByTheCommandItNames() {
    assertFalse(nodes().isEmpty());
    for (Node n : nodes()) {
      CommandLine cl = new CommandLine(new SyncgradCli());
      CommandLine.ParseResult parsed;
      try {
        parsed = cl.parseArgs(n.args().toArray(String[]::new));
      } catch (CommandLine.ParameterException e) {
        throw new AssertionError(n.workload() + ": syncgrad " + n.command() + " refuses its arguments: "
            + e.getMessage());
      }
      CommandLine.ParseResult sub = parsed.subcommand();
      assertNotNull(sub, n.workload());
      // The training options are validated as the command would: values, ranges, combinations.
      Object options = sub.commandSpec().mixins().containsKey("options")
          ? sub.commandSpec().mixins().get("options").userObject() : null;
      if (options instanceof TrainOptions train) {
        train.resolve(sub);
      }
      for (String duration : List.of("--wait-timeout", "--join-timeout", "--step-timeout")) {
        if (n.option(duration) != null) {
          Durations.parse(duration, n.option(duration));
        }
      }
      assertFalse(n.args().contains("--insecure"), n.workload() + ": TLS, not --insecure");
    }
  }

  @Test
  void portsAndProbesAgreeWithTheCommandLines() {
    for (Node n : nodes()) {
      assertEquals(Integer.parseInt(n.option("--port")), n.containerPort("artery"), n.workload() + " --port");
      int metrics = Integer.parseInt(n.option("--metrics-port"));
      assertEquals(metrics, n.containerPort("metrics"), n.workload() + " --metrics-port");
      assertEquals("0.0.0.0", n.option("--metrics-host"), n.workload() + ": probes come from the node, not loopback");
      String link = n.env("JDK_JAVA_OPTIONS");
      assertNotNull(link, n.workload() + ": a fixed link port");
      Matcher m = Pattern.compile("-Dsyncgrad\\.tensor-link\\.port=(\\d+)").matcher(link);
      assertTrue(m.find(), link);
      assertEquals(Integer.parseInt(m.group(1)), n.containerPort(n.command().equals("worker") ? "peer-link" : "link"),
          n.workload() + ": the link port is a container port");
      for (String[] probe : new String[][] {{"livenessProbe", "/healthz"}, {"readinessProbe", "/readyz"}}) {
        JsonNode get = n.container().path(probe[0]).path("httpGet");
        assertEquals(probe[1], get.path("path").asText(), n.workload() + " " + probe[0]);
        JsonNode port = get.path("port");
        int target = port.isInt() ? port.asInt() : n.containerPort(port.asText());
        assertEquals(metrics, target, n.workload() + " " + probe[0] + " probes the metrics port");
      }
      JsonNode requests = n.container().path("resources").path("requests");
      assertTrue(requests.has("cpu") && requests.has("memory"), n.workload() + ": resource requests");
    }
  }

  @Test
  void workersFindTheCoordinatorThroughTheHeadlessService() {
    Node coordinator = only("coordinator");
    Node worker = only("worker");
    JsonNode service = doc("Service", coordinator.pod().path("subdomain").asText());
    assertEquals("None", service.path("spec").path("clusterIP").asText(), "a headless service");
    assertTrue(service.path("spec").path("publishNotReadyAddresses").asBoolean(),
        "the coordinator's name resolves before it is ready: it binds to it");
    JsonNode labels = coordinator.job().path("spec").path("template").path("metadata").path("labels");
    service.path("spec").path("selector").fields().forEachRemaining(e ->
        assertEquals(e.getValue().asText(), labels.path(e.getKey()).asText(), "the service selects the coordinator"));
    List<Integer> ports = new ArrayList<>();
    service.path("spec").path("ports").forEach(p -> ports.add(p.path("port").asInt()));
    for (String name : List.of("artery", "link", "metrics")) {
      assertTrue(ports.contains(coordinator.containerPort(name)), "the service carries the coordinator's " + name);
    }
    String host = coordinator.pod().path("hostname").asText() + "." + service.path("metadata").path("name").asText()
        + "." + FIELD_VALUES.get("metadata.namespace") + ".svc.cluster.local";
    assertEquals(host, coordinator.option("--host"), "the coordinator's address is its DNS name");
    assertEquals(host + ":" + coordinator.option("--port"), worker.option("--seed-nodes"),
        "workers join the coordinator's exact address");
    assertEquals(coordinator.option("--workers"), worker.job().path("spec").path("parallelism").asText(),
        "as many worker pods as the coordinator waits for");
  }

  @Test
  void theRunDirectoryOutlivesThePodAndEveryRestartResumes() {
    Node coordinator = only("coordinator");
    JsonNode out = coordinator.volumeOf(coordinator.option("--out"));
    String claim = out.path("persistentVolumeClaim").path("claimName").asText();
    assertFalse(claim.isEmpty(), "--out is on a PersistentVolumeClaim, not " + out);
    assertTrue(doc("PersistentVolumeClaim", claim).path("spec").path("accessModes").toString().contains("ReadWrite"));
    assertEquals("auto", coordinator.option("--resume"), "one command line for the first start and every restart");
    assertTrue(Long.parseLong(coordinator.option("--checkpoint-every")) > 0, "periodic checkpoints");
    for (Node n : nodes()) {
      assertTrue(n.job().path("spec").path("backoffLimit").asInt(6) > 0, n.workload() + ": restarts allowed");
      assertEquals("OnFailure", n.pod().path("restartPolicy").asText(), n.workload() + ": a failed pod is restarted");
      String data = n.option("--data");
      if (data != null) {
        assertFalse(n.volumeOf(data).path("persistentVolumeClaim").path("claimName").asText().isEmpty());
      }
    }
    assertNotNull(only("worker").option("--join-timeout"), "a worker gives up on a coordinator that does not come");
  }

  @Test
  void workersMayReadTheDataTheCoordinatorNames() {
    String data = only("coordinator").option("--data");
    String root = only("worker").option("--data-root");
    assertNotNull(root, "a worker reads data only under its --data-root, and its working directory is not the volume");
    assertTrue(java.nio.file.Path.of(data).normalize().startsWith(java.nio.file.Path.of(root).normalize()),
        "the coordinator's --data " + data + " lies under the workers' --data-root " + root);
    assertEquals(only("coordinator").volumeOf(data).path("persistentVolumeClaim").path("claimName"),
        only("worker").volumeOf(root).path("persistentVolumeClaim").path("claimName"), "on the same volume");
  }

  @Test
  void nodesUseTlsFromTheSecretThatTlsSecretShMakes() throws Exception {
    Map<String, byte[]> secret = madeSecret();
    List<java.security.PublicKey> nodeKeys = new ArrayList<>();
    for (Node n : nodes()) {
      Map<String, byte[]> stores = new HashMap<>();
      for (String store : List.of("--tls-keystore", "--tls-truststore")) {
        String path = n.option(store);
        assertNotNull(path, n.workload() + " " + store);
        JsonNode volume = n.volumeOf(path);
        String name = volume.path("secret").path("secretName").asText();
        assertEquals("syncgrad-tls", name, n.workload() + ": " + store + " from the Secret");
        assertEquals(0, volume.path("secret").path("defaultMode").asInt(0644) & 077,
            n.workload() + ": the stores are readable by the node's user only");
        String file = Path.of(path).getFileName().toString();
        String key = file;
        for (JsonNode item : volume.path("secret").path("items")) {
          if (item.path("path").asText().equals(file)) {
            key = item.path("key").asText();
          }
        }
        assertTrue(secret.containsKey(key), n.workload() + ": " + file + " is the Secret's " + key);
        stores.put(store, secret.get(key));
      }
      Map<String, String> passwords = new HashMap<>();
      for (String variable : List.of(NodeAddress.KEYSTORE_PASSWORD, NodeAddress.TRUSTSTORE_PASSWORD)) {
        JsonNode ref = null;
        for (JsonNode e : n.container().path("env")) {
          if (e.path("name").asText().equals(variable)) {
            ref = e.path("valueFrom").path("secretKeyRef");
          }
        }
        assertNotNull(ref, n.workload() + ": $" + variable + " from the Secret");
        assertEquals("syncgrad-tls", ref.path("name").asText());
        byte[] value = secret.get(ref.path("key").asText());
        assertNotNull(value, "the Secret has " + ref.path("key"));
        passwords.put(variable, new String(value, StandardCharsets.UTF_8));
      }
      // The stores open with the passwords the node is given, and the node's certificate is one
      // the cluster's truststore accepts.
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(new ByteArrayInputStream(stores.get("--tls-keystore")),
          passwords.get(NodeAddress.KEYSTORE_PASSWORD).toCharArray());
      assertTrue(keys.isKeyEntry("node"), n.workload());
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(new ByteArrayInputStream(stores.get("--tls-truststore")),
          passwords.get(NodeAddress.TRUSTSTORE_PASSWORD).toCharArray());
      javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
      tmf.init(trust);
      java.security.cert.X509Certificate[] chain = java.util.Arrays.stream(keys.getCertificateChain("node"))
          .map(c -> (java.security.cert.X509Certificate) c).toArray(java.security.cert.X509Certificate[]::new);
      for (javax.net.ssl.TrustManager tm : tmf.getTrustManagers()) {
        ((javax.net.ssl.X509TrustManager) tm).checkClientTrusted(chain, chain[0].getPublicKey().getAlgorithm());
        ((javax.net.ssl.X509TrustManager) tm).checkServerTrusted(chain, "ECDHE_ECDSA");
      }
      nodeKeys.add(chain[0].getPublicKey());
    }
    assertEquals(nodeKeys.size(), new java.util.HashSet<>(nodeKeys).size(),
        "the coordinator and the workers hold keys of their own");
  }

  @Test
  void noManifestNorExampleTurnsAuthenticationOffAndTheMultiMachineExampleRunsWithTls() throws IOException {
    for (Path dir : List.of(K8S, Path.of("examples"))) {
      try (var files = Files.list(dir)) {
        for (Path f : files.filter(f -> !f.getFileName().toString().equals("README.md")).toList()) {
          assertFalse(Files.readString(f).contains("--insecure"), f + " turns authentication off");
        }
      }
    }
    // The commands the example shows, continuation lines joined, as a user would paste them.
    String text = Files.readString(Path.of("examples", "multi-machine.conf")).replaceAll("\\\\\n#\\s*", " ");
    Matcher m = Pattern.compile("syncgrad (coordinator|worker)( [^\n]*)").matcher(text);
    List<String> commands = new ArrayList<>();
    while (m.find()) {
      List<String> args = new ArrayList<>(List.of(m.group(1)));
      args.addAll(List.of(m.group(2).trim().split("\\s+")));
      CommandLine.ParseResult parsed = new CommandLine(new SyncgradCli()).parseArgs(args.toArray(String[]::new));
      CommandLine.ParseResult sub = parsed.subcommand();
      assertTrue(sub.hasMatchedOption("--tls-keystore") && sub.hasMatchedOption("--tls-truststore"),
          "the example's " + m.group(1) + " uses TLS: " + args);
      commands.add(m.group(1));
    }
    assertTrue(commands.contains("coordinator") && commands.contains("worker"), "the example shows both: " + commands);
  }

  /** Runs {@code tls-secret.sh} with this JDK's keytool and decodes the Secret it prints. */
  private static Map<String, byte[]> madeSecret() throws Exception {
    Path java = Path.of(ProcessHandle.current().info().command().orElseThrow());
    ProcessBuilder pb = new ProcessBuilder("bash", K8S.resolve("tls-secret.sh").toString());
    // syncgrad certs from the classes under test, not a jar that may not be built yet.
    pb.environment().put("SYNCGRAD", java + " -cp " + System.getProperty("java.class.path") + " "
        + SyncgradCli.class.getName());
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    Process p = pb.start();
    byte[] printed = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      fail("tls-secret.sh failed");
    }
    JsonNode secret = YAML.readTree(printed);
    assertEquals("Secret", secret.path("kind").asText());
    assertEquals("syncgrad-tls", secret.path("metadata").path("name").asText());
    Map<String, byte[]> data = new HashMap<>();
    secret.path("data").fields().forEachRemaining(e -> data.put(e.getKey(), Base64.getDecoder().decode(e.getValue()
        .asText())));
    return data;
  }
}
