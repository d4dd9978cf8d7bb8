package dev.dockgate.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * HTTP/1.1 over a plain socket, with no client library to tidy up what is sent: writes raw bytes,
 * then parses whatever responses come back and notes whether the server closed the connection.
 */
public final class RawHttp {

  private RawHttp() {
  }

  /** One parsed response: status, the head as text, the body (by Content-Length or chunked). */
  public record Response(int status, String head, String body) {
    public boolean closes() {
      return head.toLowerCase(Locale.ROOT).contains("\r\nconnection: close");
    }
  }

  /** What came back on one connection; {@code closed}: the server closed it (EOF or reset). */
  public record Exchange(List<Response> responses, boolean closed, String raw) {
    /** The first response's status, or -1 when nothing was answered. */
    public int status() {
      return responses.isEmpty() ? -1 : responses.get(0).status();
    }
  }

  /**
   * Sends {@code request} and reads until the server closes the connection, or until {@code
   * responses} complete responses came and then {@code quietMs} passed without more bytes (the
   * connection is then reported open). Gives up after {@code deadlineMs} in all.
   */
  public static Exchange exchange(int port, byte[] request, int responses, long quietMs, long deadlineMs) {
    return exchange(port, request, 0, responses, quietMs, deadlineMs);
  }

  /** As {@link #exchange(int, byte[], int, long, long)}, to {@code host} ({@code ::1}) rather than 127.0.0.1. */
  public static Exchange exchange(String host, int port, byte[] request, int responses, long quietMs, long deadlineMs) {
    return exchange(host, port, request, 0, responses, quietMs, deadlineMs);
  }

  /** As {@link #exchange(int, byte[], int, long, long)}, written {@code pieceSize} bytes at a time, 5 ms apart (0: at once). */
  public static Exchange exchange(int port, byte[] request, int pieceSize, int responses, long quietMs, long deadlineMs) {
    return exchange("127.0.0.1", port, request, pieceSize, responses, quietMs, deadlineMs);
  }

  private static Exchange exchange(String host, int port, byte[] request, int pieceSize, int responses, long quietMs,
      long deadlineMs) {
    try (Socket socket = new Socket(host, port)) {
      socket.setTcpNoDelay(true);
      int step = pieceSize <= 0 ? request.length : pieceSize;
      for (int at = 0; at < request.length; at += step) {
        if (at > 0) {
          Thread.sleep(5);
        }
        socket.getOutputStream().write(request, at, Math.min(step, request.length - at));
        socket.getOutputStream().flush();
      }
      return read(socket, responses, quietMs, deadlineMs);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Reads from an open socket as {@link #exchange} does. */
  public static Exchange read(Socket socket, int responses, long quietMs, long deadlineMs) throws IOException {
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    byte[] chunk = new byte[8192];
    long end = System.nanoTime() + deadlineMs * 1_000_000;
    boolean closed = false;
    while (System.nanoTime() < end) {
      boolean enough = parse(buf.toByteArray()).size() >= responses;
      long left = Math.max(1, (end - System.nanoTime()) / 1_000_000);
      socket.setSoTimeout((int) Math.min(enough ? quietMs : left, left));
      int n;
      try {
        n = in.read(chunk);
      } catch (SocketTimeoutException e) {
        if (enough) {
          break;
        }
        continue;
      } catch (SocketException e) {
        closed = true; // reset by the server
        break;
      }
      if (n < 0) {
        closed = true;
        break;
      }
      buf.write(chunk, 0, n);
    }
    byte[] bytes = buf.toByteArray();
    return new Exchange(parse(bytes), closed, new String(bytes, StandardCharsets.ISO_8859_1));
  }

  /** Every complete response in {@code bytes}. */
  static List<Response> parse(byte[] bytes) {
    String text = new String(bytes, StandardCharsets.ISO_8859_1);
    List<Response> result = new ArrayList<>();
    int pos = 0;
    while (true) {
      int headEnd = text.indexOf("\r\n\r\n", pos);
      if (headEnd < 0 || !text.startsWith("HTTP/", pos)) {
        return result;
      }
      String head = text.substring(pos, headEnd + 2);
      int status = Integer.parseInt(head.substring(9, 12));
      int bodyStart = headEnd + 4;
      String lower = head.toLowerCase(Locale.ROOT);
      int bodyEnd;
      String body;
      if (lower.contains("\r\ntransfer-encoding: chunked")) {
        StringBuilder decoded = new StringBuilder();
        int at = bodyStart;
        while (true) {
          int lineEnd = text.indexOf("\r\n", at);
          if (lineEnd < 0) {
            return result;
          }
          int size = Integer.parseInt(text.substring(at, lineEnd).split(";")[0].trim(), 16);
          if (size == 0) {
            int trailerEnd = text.indexOf("\r\n\r\n", lineEnd);
            if (trailerEnd < 0) {
              return result;
            }
            bodyEnd = trailerEnd + 4;
            break;
          }
          if (lineEnd + 2 + size + 2 > text.length()) {
            return result;
          }
          decoded.append(text, lineEnd + 2, lineEnd + 2 + size);
          at = lineEnd + 2 + size + 2;
        }
        body = decoded.toString();
      } else {
        int length = 0;
        int cl = lower.indexOf("\r\ncontent-length:");
        if (cl >= 0) {
          length = Integer.parseInt(head.substring(cl + 17, head.indexOf("\r\n", cl + 2)).trim());
        }
        if (status == 204 || status == 304 || status / 100 == 1) {
          length = 0;
        }
        if (bodyStart + length > text.length()) {
          return result;
        }
        bodyEnd = bodyStart + length;
        body = text.substring(bodyStart, bodyEnd);
      }
      result.add(new Response(status, head, body));
      pos = bodyEnd;
    }
  }

  /** Reads a request head up to its blank line, byte by byte (for raw test backends). */
  public static String readHead(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      head.append((char) b);
    }
    return head.toString();
  }
}
