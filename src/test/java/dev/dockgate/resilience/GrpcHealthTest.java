package dev.dockgate.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import org.junit.jupiter.api.Test;

/** gRPC health messages as protobuf's wire format writes them, checked byte by byte. */
class GrpcHealthTest {

  private static Buffer bytes(int... values) {
    Buffer b = Buffer.buffer();
    for (int v : values) {
      b.appendByte((byte) v);
    }
    return b;
  }

  @Test
  void theRequestIsOneUncompressedFrameNamingTheService() {
    assertEquals(bytes(0, 0, 0, 0, 0), GrpcHealth.request(""), "the server as a whole: an empty message");
    assertEquals(bytes(0, 0, 0, 0, 3, 0x0a, 1, 'a'), GrpcHealth.request("a"));
    Buffer long200 = GrpcHealth.request("x".repeat(200));
    assertEquals(bytes(0, 0, 0, 0, 203, 0x0a, 0xc8, 0x01), long200.getBuffer(0, 8), "a two-byte varint length");
    assertEquals(208, long200.length());
  }

  @Test
  void theStatusIsReadFromTheResponseFrame() {
    assertEquals(1, GrpcHealth.servingStatus(bytes(0, 0, 0, 0, 2, 0x08, 1)));
    assertEquals(2, GrpcHealth.servingStatus(bytes(0, 0, 0, 0, 2, 0x08, 2)));
    assertEquals(0, GrpcHealth.servingStatus(bytes(0, 0, 0, 0, 0)), "absent: UNKNOWN");
    // Unknown fields of each wire type before the status are skipped.
    assertEquals(1, GrpcHealth.servingStatus(bytes(0, 0, 0, 0, 17, 0x10, 0x96, 0x01, 0x19, 1, 2, 3, 4, 5, 6, 7, 8,
        0x22, 1, 'z', 0x08, 1)));
    assertEquals(3, GrpcHealth.servingStatus(bytes(0, 0, 0, 0, 7, 0x2d, 1, 2, 3, 4, 0x08, 3)));
  }

  @Test
  void malformedFramesAreNotServing() {
    assertEquals(-1, GrpcHealth.servingStatus(Buffer.buffer()));
    assertEquals(-1, GrpcHealth.servingStatus(bytes(1, 0, 0, 0, 2, 0x08, 1)), "compressed");
    assertEquals(-1, GrpcHealth.servingStatus(bytes(0, 0, 0, 0, 3, 0x08, 1)), "length past the end");
    assertEquals(-1, GrpcHealth.servingStatus(bytes(0, 0, 0, 0, 1, 0x08)), "a field cut short");
    assertEquals(-1, GrpcHealth.servingStatus(bytes(0, 0, 0, 0, 2, 0x0a, 5)), "a string past the message");
    assertEquals(-1, GrpcHealth.servingStatus(bytes(0, 0, 0, 0, 2, 0x0b, 1)), "wire type 3 (groups) is not read");
  }

  @Test
  void servingNeedsHttp200GrpcStatusOkAndServing() {
    Buffer serving = bytes(0, 0, 0, 0, 2, 0x08, 1);
    MultiMap none = HttpHeaders.headers();
    MultiMap ok = HttpHeaders.headers().add("grpc-status", "0");
    assertTrue(GrpcHealth.serving(200, none, ok, serving));
    assertTrue(GrpcHealth.serving(200, ok, none, serving), "a status in the head (trailers-only)");
    assertFalse(GrpcHealth.serving(200, none, none, serving), "no status");
    assertFalse(GrpcHealth.serving(200, none, HttpHeaders.headers().add("grpc-status", "12"), Buffer.buffer()));
    assertFalse(GrpcHealth.serving(503, none, ok, serving));
    assertFalse(GrpcHealth.serving(200, none, ok, bytes(0, 0, 0, 0, 2, 0x08, 2)), "NOT_SERVING");
  }
}
