package dev.dockgate.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import dev.dockgate.config.ClusterConfig;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What the probe makes of a real Hazelcast member, a socket that never answers, another server, and nobody. */
@Timeout(60)
class MemberProbeTest {

  static int freePort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @Test
  void aRealMemberAnswersASilentSocketDoesNotAnotherServerOrNobodyIsNotAMember() throws Exception {
    int port = freePort();
    Config config = HazelcastSettings.of(new ClusterConfig("probe-" + port, List.of("127.0.0.1:" + port), "127.0.0.1",
        port, false));
    HazelcastInstance member = Hazelcast.newHazelcastInstance(config);
    // Listening, never accepting: the kernel completes the handshake, as a stopped process's does.
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        ServerSocket other = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread answering = new Thread(() -> {
        try (Socket s = other.accept(); OutputStream out = s.getOutputStream()) {
          out.write("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        } catch (Exception closed) {
          // the test ends
        }
      });
      answering.setDaemon(true);
      answering.start();
      int nobody = freePort();
      String real = "127.0.0.1:" + port;
      String hung = "127.0.0.1:" + silent.getLocalPort();
      String http = "127.0.0.1:" + other.getLocalPort();
      String refused = "127.0.0.1:" + nobody;
      Map<String, MemberProbe.Answer> answers = MemberProbe.ask(List.of(real, hung, http, refused), 1_000);
      assertEquals(Map.of(real, MemberProbe.Answer.MEMBER, hung, MemberProbe.Answer.SILENT,
          http, MemberProbe.Answer.NOT_A_MEMBER, refused, MemberProbe.Answer.NOT_A_MEMBER), answers);
      assertEquals(MemberProbe.Answer.MEMBER, MemberProbe.ask("[::ffff:127.0.0.1]:" + port, 1_000));
    } finally {
      member.shutdown();
    }
  }
}
