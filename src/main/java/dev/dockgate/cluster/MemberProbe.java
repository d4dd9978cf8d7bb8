package dev.dockgate.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Asks listed members whether they answer as Hazelcast members: a member that accepts a connection and is sent the
 * member protocol's three bytes ({@code HZC}) sends them back at once. One that accepts and says nothing (a process
 * hung by SIGSTOP, a long pause, a frozen VM: its kernel still completes the handshake; or another server on the
 * port that waits for its own protocol) holds every join up until Hazelcast gives up, since no member can become
 * master without its vote. Blocking: used on a thread of its own, never on an event loop.
 */
final class MemberProbe {

  enum Answer {
    /** Sent the member protocol back. */
    MEMBER,
    /** Refused, unreachable, closed or answered something else: not in the way of a join. */
    NOT_A_MEMBER,
    /** Accepted and said nothing within the time: holds a join up. */
    SILENT
  }

  private static final byte[] PROTOCOL = "HZC".getBytes(StandardCharsets.US_ASCII);

  private MemberProbe() {
  }

  /** Each member's answer ({@code host:port} entries, IPv6 hosts in brackets or not), asked one after the other. */
  static Map<String, Answer> ask(List<String> members, int timeoutMs) {
    Map<String, Answer> answers = new LinkedHashMap<>();
    for (String member : members) {
      answers.put(member, ask(member, timeoutMs));
    }
    return answers;
  }

  static Answer ask(String member, int timeoutMs) {
    int colon = member.lastIndexOf(':');
    String host = member.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port = Integer.parseInt(member.substring(colon + 1));
    try (Socket socket = new Socket()) {
      try {
        socket.connect(new InetSocketAddress(host, port), timeoutMs);
      } catch (IOException | IllegalArgumentException unreachable) {
        return Answer.NOT_A_MEMBER; // refused, unreachable, or no answer to the handshake: Hazelcast moves on too
      }
      try {
        socket.setSoTimeout(timeoutMs);
        socket.getOutputStream().write(PROTOCOL);
        InputStream in = socket.getInputStream();
        byte[] back = in.readNBytes(PROTOCOL.length);
        return java.util.Arrays.equals(back, PROTOCOL) ? Answer.MEMBER : Answer.NOT_A_MEMBER;
      } catch (SocketTimeoutException silent) {
        return Answer.SILENT;
      } catch (IOException closed) {
        return Answer.NOT_A_MEMBER;
      }
    } catch (IOException notClosed) {
      return Answer.NOT_A_MEMBER;
    }
  }
}
