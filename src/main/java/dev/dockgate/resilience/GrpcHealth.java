package dev.dockgate.resilience;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;

/**
 * gRPC's health checking protocol as a probe speaks it ({@code grpc.health.v1.Health/Check}, grpc/grpc
 * doc/health-checking.md): the request message, one length-prefixed frame of a {@code HealthCheckRequest}
 * naming the service ("" for the server as a whole), and the verdict read from the answer: HTTP 200,
 * {@code grpc-status} 0 and a {@code HealthCheckResponse} whose status is SERVING. The two messages are small
 * enough to write and read by hand (protobuf's wire format: field 1, a string; field 1, an enum) without generated
 * code on the gateway's class path.
 */
final class GrpcHealth {

  static final String PATH = "/grpc.health.v1.Health/Check";
  /** HealthCheckResponse.ServingStatus.SERVING. */
  static final int SERVING = 1;

  private GrpcHealth() {
  }

  /** The request's body: a gRPC frame (not compressed, 4-byte length) holding {@code HealthCheckRequest{service}}. */
  static Buffer request(String service) {
    byte[] name = service.getBytes(StandardCharsets.UTF_8);
    Buffer message = Buffer.buffer();
    if (name.length > 0) { // proto3: an empty string is not written
      message.appendByte((byte) 0x0a); // field 1, length-delimited
      writeVarint(message, name.length);
      message.appendBytes(name);
    }
    return Buffer.buffer().appendByte((byte) 0).appendInt(message.length()).appendBuffer(message);
  }

  /** Whether an answer says SERVING: HTTP 200, grpc-status 0 (in the trailers, or the head of a trailers-only one). */
  static boolean serving(int httpStatus, MultiMap headers, MultiMap trailers, Buffer body) {
    String status = trailers.get("grpc-status");
    if (status == null) {
      status = headers.get("grpc-status");
    }
    return httpStatus == 200 && "0".equals(status) && servingStatus(body) == SERVING;
  }

  /** The status field of the one HealthCheckResponse frame in {@code body}; -1 when it is not such a frame. */
  static int servingStatus(Buffer body) {
    if (body.length() < 5 || body.getByte(0) != 0) {
      return -1; // no frame, or a compressed one (the probe offers no compression)
    }
    long length = body.getUnsignedInt(1);
    if (length != body.length() - 5) {
      return -1;
    }
    int[] at = {5};
    int end = body.length();
    int status = 0; // proto3: an absent enum is its zero, UNKNOWN
    while (at[0] < end) {
      long tag = readVarint(body, at, end);
      if (tag < 0) {
        return -1;
      }
      int wire = (int) (tag & 7);
      long value;
      switch (wire) {
        case 0 -> value = readVarint(body, at, end);
        case 1 -> value = skip(at, 8, end);
        case 2 -> {
          long size = readVarint(body, at, end);
          value = size < 0 ? -1 : skip(at, size, end);
        }
        case 5 -> value = skip(at, 4, end);
        default -> value = -1;
      }
      if (value < 0) {
        return -1;
      }
      if (tag >>> 3 == 1 && wire == 0) {
        status = (int) value;
      }
    }
    return status;
  }

  private static long skip(int[] at, long bytes, int end) {
    if (bytes > end - at[0]) {
      return -1;
    }
    at[0] += (int) bytes;
    return 0;
  }

  /** A base-128 varint at {@code at[0]}, which moves past it; -1 when cut short or longer than 64 bits. */
  private static long readVarint(Buffer body, int[] at, int end) {
    long value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at[0] >= end) {
        return -1;
      }
      byte b = body.getByte(at[0]++);
      value |= (long) (b & 0x7f) << shift;
      if (b >= 0) {
        return value;
      }
    }
    return -1;
  }

  private static void writeVarint(Buffer out, int value) {
    while ((value & ~0x7f) != 0) {
      out.appendByte((byte) ((value & 0x7f) | 0x80));
      value >>>= 7;
    }
    out.appendByte((byte) value);
  }
}
