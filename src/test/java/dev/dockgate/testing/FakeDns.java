package dev.dockgate.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A DNS server on 127.0.0.1 (UDP, an ephemeral port) for tests, so that no lookup leaves the host: it answers A and
 * AAAA questions for the names it was given with their addresses (RFC 1035 §4.1: the question echoed, QR and RA set,
 * one answer record per address of the asked type, with {@link #ttl} seconds), a name it does not know "no such name"
 * (RCODE 3), every question SERVFAIL (RCODE 2) while {@link #failing} is set, and none at all while {@link #silent} is
 * (a server that is away: the asker waits for its query timeout). Point the gateway at it with
 * {@code -options} {@code {"addressResolverOptions": {"servers": ["127.0.0.1:PORT"], "hostsPath": ...}}}.
 */
public final class FakeDns implements AutoCloseable {

  private static final int TYPE_A = 1;
  private static final int TYPE_AAAA = 28;

  private final DatagramSocket socket;
  private final Thread thread;
  private final Map<String, List<InetAddress>> names = new ConcurrentHashMap<>();
  private final AtomicInteger questions = new AtomicInteger();
  private final Map<String, AtomicInteger> asked = new ConcurrentHashMap<>();
  private volatile int ttl = 1;
  /** The AAAA records' TTL when not {@link #ttl}'s (-1): a caching server in between gives each family its own. */
  private volatile int aaaaTtl = -1;
  private volatile boolean failing;
  private volatile boolean silent;
  private volatile long delayMs;
  private final java.util.concurrent.ScheduledExecutorService late =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fake-dns-late");
        t.setDaemon(true);
        return t;
      });

  public FakeDns() throws IOException {
    socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    thread = new Thread(this::serve, "fake-dns");
    thread.setDaemon(true);
    thread.start();
  }

  public int port() {
    return socket.getLocalPort();
  }

  /** From now on {@code name} resolves to {@code addresses} (IPv4 and IPv6 literals); none: no such name. */
  public void answer(String name, String... addresses) {
    List<InetAddress> list = new ArrayList<>();
    for (String address : addresses) {
      try {
        list.add(InetAddress.getByName(address)); // a literal: no lookup
      } catch (IOException e) {
        throw new IllegalArgumentException(address, e);
      }
    }
    if (list.isEmpty()) {
      names.remove(name.toLowerCase(Locale.ROOT));
    } else {
      names.put(name.toLowerCase(Locale.ROOT), List.copyOf(list));
    }
  }

  public void ttl(int seconds) {
    ttl = seconds;
    aaaaTtl = -1;
  }

  /** The A records' TTL and the AAAA records' one. */
  public void ttl(int a, int aaaa) {
    ttl = a;
    aaaaTtl = aaaa;
  }

  /** While set, every question gets SERVFAIL (a server that cannot answer). */
  public void failing(boolean failing) {
    this.failing = failing;
  }

  /** From now on every answer is sent {@code ms} milliseconds after its question came (0: at once), each on its own. */
  public void delay(long ms) {
    this.delayMs = ms;
  }

  /** While set, no question is answered (a server away, or a firewall dropping its packets). */
  public void silent(boolean silent) {
    this.silent = silent;
  }

  /** How many questions arrived. */
  public int questions() {
    return questions.get();
  }

  /** How many questions (A and AAAA alike) about {@code name} arrived. */
  public int questions(String name) {
    AtomicInteger n = asked.get(name.toLowerCase(Locale.ROOT));
    return n == null ? 0 : n.get();
  }

  private void serve() {
    byte[] buffer = new byte[1500];
    while (!socket.isClosed()) {
      DatagramPacket query = new DatagramPacket(buffer, buffer.length);
      try {
        socket.receive(query);
        questions.incrementAndGet();
        byte[] answer = answer(query.getData(), query.getLength());
        long delay = delayMs;
        if (answer != null && delay > 0) {
          java.net.SocketAddress to = query.getSocketAddress();
          late.schedule(() -> {
            try {
              socket.send(new DatagramPacket(answer, answer.length, to));
            } catch (IOException closed) {
              // the server closed meanwhile
            }
          }, delay, java.util.concurrent.TimeUnit.MILLISECONDS);
        } else if (answer != null) {
          socket.send(new DatagramPacket(answer, answer.length, query.getSocketAddress()));
        }
      } catch (IOException closed) {
        return;
      }
    }
  }

  /** The answer to one query, or null when it is not one question this server can read. */
  private byte[] answer(byte[] q, int length) {
    if (length < 12 || ((q[4] & 0xff) << 8 | q[5] & 0xff) != 1) {
      return null;
    }
    int at = 12;
    StringBuilder name = new StringBuilder();
    while (at < length && q[at] != 0) {
      int label = q[at] & 0xff;
      if (label > 63 || at + 1 + label > length) {
        return null;
      }
      name.append(name.isEmpty() ? "" : ".").append(new String(q, at + 1, label, java.nio.charset.StandardCharsets.US_ASCII));
      at += 1 + label;
    }
    int questionEnd = at + 5; // the root label, QTYPE, QCLASS
    if (questionEnd > length) {
      return null;
    }
    int type = (q[at + 1] & 0xff) << 8 | q[at + 2] & 0xff;
    asked.computeIfAbsent(name.toString().toLowerCase(Locale.ROOT), n -> new AtomicInteger()).incrementAndGet();
    List<InetAddress> known = names.get(name.toString().toLowerCase(Locale.ROOT));
    List<InetAddress> records = new ArrayList<>();
    if (known != null) {
      for (InetAddress address : known) {
        if (type == TYPE_A && address.getAddress().length == 4 || type == TYPE_AAAA && address.getAddress().length == 16) {
          records.add(address);
        }
      }
    }
    if (silent) {
      return null;
    }
    int rcode = failing ? 2 : known == null ? 3 : 0;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(q[0]);
    out.write(q[1]);
    out.write(0x80 | (q[2] & 0x79)); // QR, the query's opcode and RD kept
    out.write(0x80 | rcode); // RA
    int answers = rcode == 0 ? records.size() : 0;
    out.write(new byte[] {0, 1, (byte) (answers >> 8), (byte) answers, 0, 0, 0, 0}, 0, 8);
    out.write(q, 12, questionEnd - 12);
    for (int i = 0; i < answers; i++) {
      byte[] address = records.get(i).getAddress();
      int seconds = type == TYPE_AAAA && aaaaTtl >= 0 ? aaaaTtl : ttl;
      out.write(new byte[] {(byte) 0xc0, 12, 0, (byte) type, 0, 1,
          (byte) (seconds >> 24), (byte) (seconds >> 16), (byte) (seconds >> 8), (byte) seconds,
          0, (byte) address.length}, 0, 12);
      out.write(address, 0, address.length);
    }
    return out.toByteArray();
  }

  @Override
  public void close() throws InterruptedException {
    late.shutdownNow();
    socket.close();
    thread.join(5_000);
  }
}
