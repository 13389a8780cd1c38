package io.syncgrad.common.transport;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.syncgrad.proto.LinkChallengeProto;
import io.syncgrad.proto.LinkFrameProto;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;

/**
 * Opening a link is bounded by its connect timeout as a whole, whatever the other end does: the
 * opener runs inside a worker's Go, and a silent or trickling endpoint must not hold it there.
 */
class TensorLinkConnectTest {

  private static TensorLinkSettings settings(SSLContext ssl) {
    return new TensorLinkSettings("127.0.0.1", "127.0.0.1", 0, 1 << 20, Duration.ofMillis(500), ssl,
        ssl == null ? List.of() : List.of("TLSv1.3"), ssl == null ? List.of() : List.of("TLS_AES_128_GCM_SHA256"),
        TensorLinkSettings.Greeting.DEFAULT);
  }

  /** Accepts and runs {@code then} on the connection. */
  private static ServerSocket server(java.util.function.Consumer<Socket> then) throws IOException {
    ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      try {
        then.accept(s.accept());
      } catch (IOException ignored) {
        // closed
      }
    });
    t.setDaemon(true);
    t.start();
    return s;
  }

  @Test
  void aPeerThatNeverAnswersTheTlsHandshakeDoesNotHangTheOpener() throws Exception {
    try (ServerSocket silent = server(socket -> { })) {
      String endpoint = "127.0.0.1:" + silent.getLocalPort();
      assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertThrows(IOException.class,
          () -> TensorLink.connect(endpoint, settings(SSLContext.getDefault()), LinkFrameProto.getDefaultInstance())));
    }
  }

  @Test
  void aChallengeTrickledAByteAtATimeDoesNotHangTheOpener() throws Exception {
    byte[] challenge = LinkFrameProto.newBuilder().setChallenge(LinkChallengeProto.newBuilder()
        .setNonce(com.google.protobuf.ByteString.copyFrom(new byte[1000]))).build().toByteArray();
    try (ServerSocket trickle = server(socket -> {
      try {
        OutputStream out = socket.getOutputStream();
        // The frame's length at once, then its bytes one by one.
        com.google.protobuf.CodedOutputStream length = com.google.protobuf.CodedOutputStream.newInstance(out);
        length.writeUInt32NoTag(challenge.length);
        length.flush();
        for (byte b : challenge) {
          out.write(b);
          out.flush();
          Thread.sleep(400); // under the 500 ms read timeout each time
        }
      } catch (IOException | InterruptedException ignored) {
        // closed
      }
    })) {
      String endpoint = "127.0.0.1:" + trickle.getLocalPort();
      assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertThrows(IOException.class,
          () -> TensorLink.connect(endpoint, settings(null), LinkFrameProto.getDefaultInstance())));
    }
  }
}
