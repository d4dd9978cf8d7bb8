package dev.dockgate.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpServerOptions;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The strict decoder on an embedded channel: which heads it refuses and with what status, that
 * obs-fold is found however the head is split into reads, and that a bad chunk is reported, not
 * passed on. (HostileInputIT sends the same kinds of bytes to the real jar.)
 */
class StrictRequestDecoderTest {

  int malformedBodies;

  /** What the decoder passes on for {@code request}, written in pieces cut at {@code cuts}. */
  List<Object> decode(String request, int... cuts) {
    EmbeddedChannel channel = new EmbeddedChannel(new StrictRequestDecoder(new HttpServerOptions(), 100, () -> malformedBodies++));
    byte[] bytes = request.getBytes(StandardCharsets.ISO_8859_1);
    int from = 0;
    for (int cut : cuts) {
      channel.writeInbound(Unpooled.wrappedBuffer(bytes, from, cut - from));
      from = cut;
    }
    channel.writeInbound(Unpooled.wrappedBuffer(bytes, from, bytes.length - from));
    List<Object> out = new ArrayList<>();
    for (Object message; (message = channel.readInbound()) != null; ) {
      out.add(message);
      ReferenceCountUtil.release(message);
    }
    channel.finishAndReleaseAll();
    return out;
  }

  /** The status the head is refused with, or 0 when it passes. */
  int refusal(String request, int... cuts) {
    HttpRequest head = assertInstanceOf(HttpRequest.class, decode(request, cuts).get(0));
    if (head.decoderResult().isSuccess()) {
      return 0;
    }
    Throwable cause = head.decoderResult().cause();
    return cause instanceof StrictRequestDecoder.Refused refused ? refused.status() : 400;
  }

  static final String VALID = "\r\nGET /up/a?q=1 HTTP/1.1\r\nHost: gw:8080\r\nX-A: a b\r\nX-B:\t c \r\nX-C:\r\n\r\n";
  static final String FOLDED = "GET /up/a HTTP/1.1\r\nHost: gw\r\nX-A: one\r\n two\r\nX-B: b\r\n\r\n";

  @Test
  void aValidHeadPassesHoweverItIsSplitIntoReads() {
    for (int i = 1; i < VALID.length(); i++) {
      for (int j = i; j < VALID.length(); j += 3) {
        assertEquals(0, refusal(VALID, i, j), "cut at " + i + " and " + j);
      }
    }
  }

  /**
   * The decoder of an h2c listener's HTTP/1.x connections: heads the strict one refuses (obs-fold, no Host) pass as
   * Vert.x's decoder passes them, and every head of the connection is timed from its first byte to its end.
   */
  @Test
  void theH2cListenersDecoderTimesEveryHeadAndRefusesNothing() {
    EmbeddedChannel channel = new EmbeddedChannel(StrictRequestDecoder.headsTimedOnly(new HttpServerOptions()));
    StrictRequestDecoder decoder = channel.pipeline().get(StrictRequestDecoder.class);
    for (String request : new String[] {FOLDED, "GET /up/b HTTP/1.1\r\n\r\n"}) {
      String head = request.substring(0, 10);
      channel.writeInbound(Unpooled.copiedBuffer("\r\n", StandardCharsets.ISO_8859_1)); // blanks before a head
      assertEquals(0, decoder.headStartedNanos(), "no head begun");
      channel.writeInbound(Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1));
      assertTrue(decoder.headStartedNanos() != 0, "a head on its way: timed");
      channel.writeInbound(Unpooled.copiedBuffer(request.substring(10), StandardCharsets.ISO_8859_1));
      assertEquals(0, decoder.headStartedNanos(), "the head complete");
      HttpRequest decoded = assertInstanceOf(HttpRequest.class, channel.readInbound());
      assertTrue(decoded.decoderResult().isSuccess(), request + ": " + decoded.decoderResult());
      assertInstanceOf(LastHttpContent.class, channel.readInbound());
    }
    channel.finishAndReleaseAll();
  }

  @Test
  void obsFoldIsRefusedHoweverTheHeadIsSplitIntoReads() {
    for (int i = 1; i < FOLDED.length(); i++) {
      for (int j = i; j < FOLDED.length(); j += 3) {
        assertEquals(400, refusal(FOLDED, i, j), "cut at " + i + " and " + j);
      }
    }
  }

  @Test
  void pipelinedHeadsAfterBodiesAreCountedApart() {
    String request = "POST /a HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\n\r\nabc"
        + "POST /b HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: t\r\n\r\n"
        + "GET /c HTTP/1.1\r\nHost: gw\r\n\r\n";
    for (int i = 1; i < request.length(); i++) {
      int cut = i;
      List<Object> out = decode(request, cut);
      List<HttpRequest> heads = out.stream().filter(HttpRequest.class::isInstance).map(HttpRequest.class::cast).toList();
      assertEquals(3, heads.size(), "cut at " + cut);
      heads.forEach(head -> assertTrue(head.decoderResult().isSuccess(), "cut at " + cut + ": " + head));
    }
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', value = {
      "GET /a HTTP/1.1\\r\\nHost: gw\\r\\n\\r\\n | 0",
      "GET /a HTTP/1.0\\r\\n\\r\\n | 0",
      "GET /a HTTP/1.2\\r\\nHost: gw\\r\\n\\r\\n | 0",
      "GET /a HTTP/2.0\\r\\nHost: gw\\r\\n\\r\\n | 505",
      "GET /a HTTP/1.10\\r\\nHost: gw\\r\\n\\r\\n | 400",
      "GET /a HTTP/1.1\\r\\n\\r\\n | 400",
      "GET /a HTTP/1.1\\r\\nHost: a\\r\\nHost: a\\r\\n\\r\\n | 400",
      "GET /a HTTP/1.1\\r\\nHost: a@b\\r\\n\\r\\n | 400",
      "GET /a\\u0001 HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n | 400",
      "GET http://u@h/a HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n | 400",
      "GET http://h/a@b HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n | 0",
      "GET /a#b HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n | 400",
      "GET /a?q=1#b HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n | 400",
      "GET http://h/a#b HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n | 400",
      "POST /a HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: chunked\\r\\nContent-Length: 3\\r\\n\\r\\n | 400",
      "POST /a HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: gzip, chunked\\r\\n\\r\\n | 400",
      "POST /a HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: Chunked\\r\\n\\r\\n | 0",
      "POST /a HTTP/1.0\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n | 400",
      "POST /a HTTP/1.0\\r\\nContent-Length: 1\\r\\nContent-Length: 2\\r\\n\\r\\n | 400",
  })
  void headsAreRefusedWithTheirStatus(String head, int status) {
    String request = head.replace("\\r", "\r").replace("\\n", "\n").replace("\\u0001", "\u0001");
    assertEquals(status, refusal(request));
  }

  @Test
  void aChunkedCodingInCapitalsIsForwardedAsChunked() {
    HttpRequest head = (HttpRequest) decode("POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n").get(0);
    assertEquals("chunked", head.headers().get("transfer-encoding"));
  }

  @Test
  void aBadChunkIsReportedToTheEdgeAndNotPassedOn() {
    List<Object> out = decode("POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n"
        + "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(1, malformedBodies);
    assertTrue(((HttpRequest) out.get(0)).decoderResult().isSuccess());
    for (Object message : out.subList(1, out.size())) {
      HttpContent content = assertInstanceOf(HttpContent.class, message);
      assertTrue(content.decoderResult().isSuccess(), "no failed content passed on");
      assertFalse(content instanceof LastHttpContent, "the body never ends normally");
    }
    assertEquals(1, out.stream().filter(HttpRequest.class::isInstance).count(), "nothing after the bad chunk is decoded");
  }
}
