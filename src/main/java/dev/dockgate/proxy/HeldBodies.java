package dev.dockgate.proxy;

/**
 * The bodies read whole before the first try to an HTTP/2 backend (so that a stream it refuses unprocessed can be sent
 * again with its body): which ones may be, and the heap they take, all routers together. One per route per router,
 * called on its event loop; the count is shared by all, atomic.
 */
final class HeldBodies {

  /**
   * The largest body, of a declared length, read whole before the first try to an HTTP/2 backend and kept, so that a
   * stream the backend refuses unprocessed can be sent again with it (Envoy keeps up to 1 MiB for its retries, nginx
   * reads bodies whole by default). Larger ones stream as they come.
   */
  static final int HELD_BODY_BYTES = 64 * 1024;
  /**
   * The heap the bodies held whole take at this moment, all routers together (see {@link #heapOfBody}), from the start
   * of a body's read to its answer's head or its end. Bounded ({@link #limit}): each one read whole gives
   * its client's HTTP/2 flow-control credit back at once, so that a client's 100 streams could otherwise hold 6.4 MiB
   * per connection where a body streamed on takes at most the connection's window.
   */
  private static final java.util.concurrent.atomic.AtomicLong HELD = new java.util.concurrent.atomic.AtomicLong();
  /** The most bytes of bodies held whole at once, all routers together (see {@link #HELD}). */
  private final long limit;

  HeldBodies() {
    // A sixteenth of the heap by default (8 MiB of a 128 MiB heap: 128 bodies of 64 KiB); past it, bodies stream.
    this.limit = Long.getLong("gateway.held.bodies.bytes", Runtime.getRuntime().maxMemory() / 16);
  }

  /**
   * Counts the body of {@code attempt} among those held whole, unless that would take them past
   * {@link #limit}: then false, and the body streams as it comes (a refusal of its stream is then final).
   */
  boolean reserve(Attempt attempt) {
    long heap = heapOfBody(attempt.length);
    long held = HELD.addAndGet(heap);
    if (held > limit) {
      HELD.addAndGet(-heap);
      return false;
    }
    attempt.heldBytes = heap;
    return true;
  }

  /**
   * The heap a body of {@code length} bytes takes once read whole: Vert.x's {@code body()} appends to a buffer of 256
   * bytes that doubles as it fills, so the next power of two (a body of 33000 bytes takes 65536).
   */
  static long heapOfBody(long length) {
    return Math.max(256, Long.highestOneBit(length - 1) << 1);
  }

  /** The held body of {@code attempt} is no longer needed (its answer came, or it ended): given back. */
  static void release(Attempt attempt) {
    if (attempt.heldBytes != 0) {
      HELD.addAndGet(-attempt.heldBytes);
      attempt.heldBytes = 0;
      attempt.held = null;
    }
  }
}
