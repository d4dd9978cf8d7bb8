package dev.dockgate.testing;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/** HTTP/2 as raw frames over a socket, for tests that need bytes no HTTP/2 client library would send. */
public final class RawHttp2 {

  public static final int DATA = 0;
  public static final int HEADERS = 1;
  public static final int PRIORITY = 2;
  public static final int RST_STREAM = 3;
  public static final int SETTINGS = 4;
  public static final int PING = 6;
  public static final int GOAWAY = 7;
  public static final int WINDOW_UPDATE = 8;

  /** Error codes (RFC 9113 §7). */
  public static final int PROTOCOL_ERROR = 0x1;
  public static final int FLOW_CONTROL_ERROR = 0x3;
  public static final int ENHANCE_YOUR_CALM = 0xb;

  /** The client connection preface's fixed bytes (RFC 9113 §3.4), before its SETTINGS frame. */
  public static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private RawHttp2() {
  }

  /**
   * A request head as HPACK literals without indexing (no Huffman); {@code more}: further fields, name then value
   * (each name and value under 127 bytes).
   */
  public static byte[] headers(String method, String path, String... more) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    List<String[]> fields = new java.util.ArrayList<>(List.of(new String[][] {{":method", method}, {":scheme", "https"},
        {":authority", "127.0.0.1"}, {":path", path}}));
    for (int i = 0; i + 1 < more.length; i += 2) {
      fields.add(new String[] {more[i], more[i + 1]});
    }
    for (String[] h : fields) {
      byte[] name = h[0].getBytes(StandardCharsets.ISO_8859_1);
      byte[] value = h[1].getBytes(StandardCharsets.ISO_8859_1);
      b.write(0);
      b.write(name.length); // every name and value here is under 127 bytes: a one-byte length
      b.write(name);
      b.write(value.length);
      b.write(value);
    }
    return b.toByteArray();
  }

  /** One field as an HPACK literal without indexing (no Huffman), of any length (RFC 7541 §5.1 integers). */
  public static byte[] literal(String name, String value) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.write(0);
    for (String s : new String[] {name, value}) {
      byte[] bytes = s.getBytes(StandardCharsets.ISO_8859_1);
      int n = bytes.length;
      if (n < 127) {
        b.write(n);
      } else {
        b.write(127);
        for (n -= 127; n >= 128; n >>= 7) {
          b.write(n & 0x7f | 0x80);
        }
        b.write(n);
      }
      b.write(bytes, 0, bytes.length);
    }
    return b.toByteArray();
  }

  /** A WINDOW_UPDATE frame's payload: the increment. */
  public static byte[] increment(int increment) {
    return new byte[] {(byte) (increment >> 24), (byte) (increment >> 16), (byte) (increment >> 8), (byte) increment};
  }

  public static void frame(ByteArrayOutputStream out, int type, int flags, int stream, byte[] payload) throws IOException {
    out.write(new byte[] {(byte) (payload.length >> 16), (byte) (payload.length >> 8), (byte) payload.length,
        (byte) type, (byte) flags, (byte) (stream >> 24), (byte) (stream >> 16), (byte) (stream >> 8), (byte) stream});
    out.write(payload);
  }

  /**
   * The next frame: {type, stream, RST_STREAM's and GOAWAY's error code, or the flags, payload length}, also added
   * to {@code seen}.
   * Throws {@link java.io.EOFException} when the connection ends before a whole frame.
   */
  public static int[] readFrame(DataInputStream in, List<int[]> seen) throws IOException {
    byte[] head = new byte[9];
    in.readFully(head);
    int length = (head[0] & 0xff) << 16 | (head[1] & 0xff) << 8 | head[2] & 0xff;
    int type = head[3] & 0xff;
    int flags = head[4] & 0xff;
    int stream = ((head[5] & 0x7f) << 24) | (head[6] & 0xff) << 16 | (head[7] & 0xff) << 8 | head[8] & 0xff;
    byte[] payload = new byte[length];
    in.readFully(payload);
    int at = type == GOAWAY ? 4 : 0; // GOAWAY: last stream id, then the error code
    int detail = type == RST_STREAM || type == GOAWAY
        ? (payload[at] & 0xff) << 24 | (payload[at + 1] & 0xff) << 16 | (payload[at + 2] & 0xff) << 8 | payload[at + 3] & 0xff
        : flags;
    int[] f = {type, stream, detail, length};
    seen.add(f);
    return f;
  }

  public static String describe(List<int[]> frames) {
    StringBuilder b = new StringBuilder();
    for (int[] f : frames) {
      b.append("[type ").append(f[0]).append(" stream ").append(f[1]).append(' ').append(f[2]).append(']');
    }
    return b.toString();
  }

  /**
   * A TLS socket to 127.0.0.1 offering these protocols by ALPN (none: no ALPN), handshake done; the test trusts the
   * gateway's self-signed certificate blindly.
   */
  public static SSLSocket tls(int port, String... protocols) throws Exception {
    return open(port, null, protocols);
  }

  /** Like {@link #tls(int, String...)} without ALPN, sending {@code serverName} (any bytes, as a host name) as SNI. */
  public static SSLSocket tlsNamed(int port, String serverName) throws Exception {
    return open(port, serverName);
  }

  private static SSLSocket open(int port, String serverName, String... protocols) throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, new TrustManager[] {new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port);
    SSLParameters parameters = socket.getSSLParameters();
    if (protocols.length > 0) {
      parameters.setApplicationProtocols(protocols);
    }
    if (serverName != null) {
      // not an SNIHostName, which refuses what a valid host name may not be (a trailing dot): sent as given
      parameters.setServerNames(List.of(new javax.net.ssl.SNIServerName(javax.net.ssl.StandardConstants.SNI_HOST_NAME,
          serverName.getBytes(java.nio.charset.StandardCharsets.US_ASCII)) { }));
    }
    socket.setSSLParameters(parameters);
    socket.setSoTimeout(10_000);
    socket.startHandshake();
    return socket;
  }
}
