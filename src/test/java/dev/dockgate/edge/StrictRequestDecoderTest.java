package dev.dockgate.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
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
    StrictRequestDecoder decoder = new StrictRequestDecoder(new HttpServerOptions(), 100);
    decoder.reportMalformedBodyTo(() -> malformedBodies++);
    EmbeddedChannel channel = new EmbeddedChannel(decoder);
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
   * On an h2c listener the decoder reads the first request before the edge knows the connection: a malformed chunk
   * there is reported once the edge does, once (before, Vert.x's decoder was left in place there and closed the
   * connection unanswered).
   */
  @Test
  void aMalformedChunkBeforeTheEdgeKnowsTheConnectionIsReportedWhenItDoes() {
    StrictRequestDecoder decoder = new StrictRequestDecoder(new HttpServerOptions(), 100);
    EmbeddedChannel channel = new EmbeddedChannel(decoder);
    channel.writeInbound(Unpooled.copiedBuffer("POST /up/p HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "zz\r\nhello\r\n0\r\n\r\n", StandardCharsets.ISO_8859_1));
    HttpRequest request = assertInstanceOf(HttpRequest.class, channel.readInbound());
    assertTrue(request.decoderResult().isSuccess(), request.decoderResult().toString());
    assertNull(channel.readInbound(), "the malformed chunk is not passed on");
    decoder.reportMalformedBodyTo(() -> malformedBodies++);
    assertEquals(1, malformedBodies, "reported once the edge knows the connection");
    decoder.reportMalformedBodyTo(() -> malformedBodies++);
    assertEquals(1, malformedBodies, "reported once");
    channel.finishAndReleaseAll();
  }

  /**
   * A refused head loses its Upgrade field: on an h2c listener Vert.x's upgrade handler reads the first request and
   * would switch a refused {@code Upgrade: h2c} offer to HTTP/2 (101) rather than let it be answered 400. A valid offer
   * keeps it.
   */
  @Test
  void aRefusedHeadOfferingAnUpgradeLosesItsUpgradeField() {
    String offer = "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n";
    for (String head : new String[] {"GET /up/a HTTP/1.1\r\n" + offer + "\r\n",
        "GET /up/a HTTP/1.1\r\nHost: gw\r\n" + offer + "X-A: one\r\n two\r\n\r\n"}) {
      assertEquals(400, refusal(head), head);
      HttpRequest refused = assertInstanceOf(HttpRequest.class, decode(head).get(0));
      assertNull(refused.headers().get("upgrade"), head);
    }
    HttpRequest valid = assertInstanceOf(HttpRequest.class,
        decode("GET /up/a HTTP/1.1\r\nHost: gw\r\n" + offer + "\r\n").get(0));
    assertTrue(valid.decoderResult().isSuccess(), valid.decoderResult().toString());
    assertEquals("h2c", valid.headers().get("upgrade"));
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

  /** An empty port is no port (RFC 3986 allows it; nginx reads it so): Vert.x read it as port 0. */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
      "GET /a HTTP/1.1\\r\\nHost: a.example:\\r\\n\\r\\n|a.example",
      "GET /a HTTP/1.1\\r\\nHost: [::1]:\\r\\n\\r\\n|[::1]",
      "GET http://[::1]:/a HTTP/1.1\\r\\nHost: b.example\\r\\n\\r\\n|[::1]",
      "GET /a HTTP/1.1\\r\\nHost: [::1]:8080\\r\\n\\r\\n|[::1]:8080",
      "GET /a HTTP/1.1\\r\\nHost: a.example:0\\r\\n\\r\\n|a.example:0"})
  void anEmptyPortInHostIsNoPort(String request, String host) {
    HttpRequest head = (HttpRequest) decode(request.replace("\\r\\n", "\r\n")).get(0);
    assertTrue(head.decoderResult().isSuccess());
    assertEquals(host, head.headers().get("host"));
  }
}
