package dev.dockgate.proxy;

import java.util.Collection;
import java.util.Deque;
import java.util.logging.Logger;

/**
 * What a Vert.x connection has read from its socket and not handed on yet: while paused (back-pressure), Vert.x keeps
 * the decoded reads in its connection's private queue ({@code VertxConnection.pending}). Vert.x 5.0 drops that queue
 * when the connection closes without releasing the buffers in it (left to the garbage collector, not given back
 * to Netty's pool); this releases them (see
 * {@link BackendClients}: a client that leaves in the middle of a large answer closes a paused backend connection).
 * Event-loop confined, as the queue is.
 */
final class UnreadReads {

  private static final Logger LOG = Logger.getLogger(UnreadReads.class.getName());
  private static final java.lang.reflect.Field QUEUE = queueField();

  private UnreadReads() {
  }

  /** Whether {@code connection} is a Vert.x connection whose queue is reachable. */
  static boolean reachable(Object connection) {
    return QUEUE != null && QUEUE.getDeclaringClass().isInstance(connection);
  }

  /** Whether {@code connection} holds reads not handed on yet. */
  static boolean queued(Object connection) {
    try {
      return reachable(connection) && QUEUE.get(connection) instanceof Collection<?> reads && !reads.isEmpty();
    } catch (IllegalAccessException e) {
      return false;
    }
  }

  /** Releases what {@code connection} (closed: nothing will read its queue again) still holds unread. */
  static void release(Object connection) {
    try {
      if (reachable(connection) && QUEUE.get(connection) instanceof Deque<?> reads) {
        for (Object read; (read = reads.poll()) != null; ) {
          io.netty.util.ReferenceCountUtil.release(read);
        }
      }
    } catch (IllegalAccessException e) {
      // not reachable: as without this class
    }
  }

  private static java.lang.reflect.Field queueField() {
    try {
      java.lang.reflect.Field field = io.vertx.core.net.impl.VertxConnection.class.getDeclaredField("pending");
      field.setAccessible(true);
      return field;
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.warning("Vert.x's connection queue is not reachable: the reads a closed backend connection held unread"
          + " are left to the garbage collector unreleased, a tunnel's backend close ends it at once, and on"
          + " io_uring may cut what a slower client has not read yet (" + e + ")");
      return null;
    }
  }
}
