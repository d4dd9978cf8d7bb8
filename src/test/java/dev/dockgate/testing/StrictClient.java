package dev.dockgate.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * An HTTP/1.1 client over one socket at a time that never retries: with keep-alive it reuses its
 * connection until the server answers {@code Connection: close} (or closes), without it every request
 * opens a new one. Any failure is the caller's to see, so a load test counts every lost request.
 * One thread at a time.
 */
public final class StrictClient implements AutoCloseable {

  /** One answer: status, headers (names in lower case), body; {@code reused}: sent on a kept-alive connection. */
  public record Answer(int status, Map<String, String> headers, String body, boolean reused) {
  }

  private final int port;
  private final boolean keepAlive;
  private Socket socket;
  private InputStream in;
  private OutputStream out;

  public StrictClient(int port, boolean keepAlive) {
    this.port = port;
    this.keepAlive = keepAlive;
  }

  /** Sends one request (a body with Content-Length when not null) and reads its answer; 10 s at most per read. */
  public Answer send(String method, String path, String body) throws IOException {
    boolean reused = socket != null;
    if (socket == null) {
      socket = new Socket("127.0.0.1", port);
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(10_000);
      in = new BufferedInputStream(socket.getInputStream());
      out = socket.getOutputStream();
    }
    try {
      byte[] payload = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
      String head = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n"
          + (keepAlive ? "" : "Connection: close\r\n")
          + (body == null ? "" : "Content-Type: text/plain\r\nContent-Length: " + payload.length + "\r\n") + "\r\n";
      out.write(head.getBytes(StandardCharsets.ISO_8859_1));
      out.write(payload);
      out.flush();
      Answer answer = read(reused);
      if (!keepAlive || "close".equalsIgnoreCase(answer.headers().get("connection"))) {
        close();
      }
      return answer;
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  private Answer read(boolean reused) throws IOException {
    String statusLine = line();
    if (!statusLine.startsWith("HTTP/1.")) {
      throw new IOException("not an HTTP answer: " + statusLine);
    }
    int status = Integer.parseInt(statusLine.substring(9, 12));
    Map<String, String> headers = new TreeMap<>();
    for (String h = line(); !h.isEmpty(); h = line()) {
      int colon = h.indexOf(':');
      headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
      for (int size = Integer.parseInt(line().split(";")[0].trim(), 16); size > 0;
          size = Integer.parseInt(line().split(";")[0].trim(), 16)) {
        body.write(in.readNBytes(size));
        line();
      }
      while (!line().isEmpty()) {
        // trailers
      }
    } else if (headers.containsKey("content-length")) {
      int length = Integer.parseInt(headers.get("content-length"));
      byte[] bytes = in.readNBytes(length);
      if (bytes.length < length) {
        throw new EOFException("connection closed after " + bytes.length + " of " + length + " body bytes");
      }
      body.write(bytes);
    }
    return new Answer(status, headers, body.toString(StandardCharsets.UTF_8), reused);
  }

  private String line() throws IOException {
    StringBuilder line = new StringBuilder();
    for (int b = in.read(); b != '\n'; b = in.read()) {
      if (b < 0) {
        throw new EOFException("connection closed by the server" + (line.length() == 0 ? "" : " mid-line: " + line));
      }
      if (b != '\r') {
        line.append((char) b);
      }
    }
    return line.toString();
  }

  @Override
  public void close() {
    if (socket != null) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing anyway
      }
      socket = null;
    }
  }
}
