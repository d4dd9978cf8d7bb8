package dev.dockgate.edge;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * What the strict decoder costs per request: one typical GET head (9 lines, 262 bytes) decoded
 * over and over on an embedded channel by Vert.x's decoder and by StrictRequestDecoder, in
 * alternating rounds of the same run. Arguments: rounds (default 7), heads per round (2000000).
 */
public final class DecoderBench {

  static final byte[] HEAD = ("GET /api/orders/12345?x=1 HTTP/1.1\r\nHost: gateway.example.com:8080\r\n"
      + "User-Agent: wrk/4.2\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\n"
      + "X-Request-Id: 5f0c1e1a2b3c4d5e6f708192a3b4c5d6\r\nConnection: keep-alive\r\n"
      + "Cookie: session=abcdefghijklmnopqrstuvwxyz0123456789\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);

  static double nsPerHead(EmbeddedChannel channel, int heads) {
    ByteBuf buffer = Unpooled.directBuffer(HEAD.length);
    long start = System.nanoTime();
    for (int i = 0; i < heads; i++) {
      buffer.clear().writeBytes(HEAD);
      channel.writeInbound(buffer.retain());
      for (Object message; (message = channel.readInbound()) != null; ) {
        ReferenceCountUtil.release(message);
      }
    }
    double ns = (System.nanoTime() - start) / (double) heads;
    buffer.release();
    return ns;
  }

  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
    int heads = args.length > 1 ? Integer.parseInt(args[1]) : 2_000_000;
    HttpServerOptions options = new HttpServerOptions();
    EmbeddedChannel stock = new EmbeddedChannel(new VertxHttpRequestDecoder(options));
    int maxHeaders = dev.dockgate.config.ServerConfig.Limits.DEFAULTS.maxHeaderCount();
    EmbeddedChannel strict = new EmbeddedChannel(new StrictRequestDecoder(options, maxHeaders));
    nsPerHead(stock, heads);
    nsPerHead(strict, heads); // warm-up
    double[] stockNs = new double[rounds];
    double[] strictNs = new double[rounds];
    double[] extra = new double[rounds];
    for (int r = 0; r < rounds; r++) {
      stockNs[r] = nsPerHead(stock, heads);
      strictNs[r] = nsPerHead(strict, heads);
      extra[r] = strictNs[r] - stockNs[r];
      System.out.printf("round %d: Vert.x decoder %.0f ns/head, strict %.0f ns/head, %+.0f ns%n",
          r + 1, stockNs[r], strictNs[r], extra[r]);
    }
    System.out.printf("median: Vert.x decoder %.0f ns/head, strict %.0f ns/head, %+.0f ns per head%n",
        median(stockNs), median(strictNs), median(extra));
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }
}
