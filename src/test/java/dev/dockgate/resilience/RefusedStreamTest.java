package dev.dockgate.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.vertx.core.http.GoAway;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.StreamResetException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** Which HTTP/2 failures are an instance refusing a stream unprocessed (RFC 9113 §8.7), and so may be sent again. */
class RefusedStreamTest {

  @Test
  void aResetWithRefusedStreamIsARefusal() {
    assertEquals("HTTP/2 REFUSED_STREAM", UpstreamFailure.refusedStream(new StreamResetException(0x7), 3, -1));
  }

  @Test
  void otherResetsAreNot() {
    assertNull(UpstreamFailure.refusedStream(new StreamResetException(0x8), 3, -1), "CANCEL: the gateway's own");
    assertNull(UpstreamFailure.refusedStream(new StreamResetException(0x8, new TimeoutException()), 3, -1), "a timeout");
    assertNull(UpstreamFailure.refusedStream(new StreamResetException(0x2), 3, -1), "INTERNAL_ERROR: maybe processed");
  }

  @Test
  void aGoAwayBelowTheStreamIsARefusalAndAtOrAboveItIsNot() {
    HttpClosedException closed = new HttpClosedException(new GoAway().setErrorCode(0).setLastStreamId(1));
    assertEquals("HTTP/2 GOAWAY with last-stream-id 1 below its stream 3", UpstreamFailure.refusedStream(closed, 3, 1));
    assertNull(UpstreamFailure.refusedStream(closed, 1, 1), "its own stream: maybe processed");
    assertNull(UpstreamFailure.refusedStream(closed, -1, 1), "no stream opened: not this way");
    assertNull(UpstreamFailure.refusedStream(new HttpClosedException("Connection was closed"), 3, -1), "no GOAWAY");
  }

  @Test
  void aStreamNettyWouldNotOpenIsARefusal() {
    Http2Exception notOpened = Http2Exception.streamError(5, Http2Error.REFUSED_STREAM,
        "Cannot create stream %d greater than Last-Stream-ID %d from GOAWAY.", 5, 3);
    assertEquals("HTTP/2 stream not opened: Cannot create stream 5 greater than Last-Stream-ID 3 from GOAWAY.",
        UpstreamFailure.refusedStream(new RuntimeException(notOpened), -1, 3));
  }

  @Test
  void aRefusalDoesNotCountAgainstTheInstance() {
    assertFalse(UpstreamFailure.countsAgainstInstance(
        new UpstreamFailure.RefusedStream("app", "HTTP/2 REFUSED_STREAM", new StreamResetException(0x7))));
  }
}
