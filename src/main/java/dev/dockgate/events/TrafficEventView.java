package dev.dockgate.events;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * A {@link TrafficEvent} seen as the map behind its JSON object: read-only, its values read from the
 * event's fields when asked for, in the documented order when iterated (and so when encoded). One
 * event per request is published, and most consumers read a few fields: a view saves building a
 * 14-entry map per request (one more with a gRPC status, one more when cut by its backend, one more when retried), and lets the gateway's own consumers take the event itself
 * ({@link TrafficEvent#of}). Writing to it throws; {@code copy()} gives a writable JSON object.
 */
final class TrafficEventView extends AbstractMap<String, Object> {

  static final String[] KEYS = {"timestamp", "request_id", "client", "consumer", "method", "path", "query",
      "protocol", "route", "backend", "instance", "status", "bytes", "latency_ms", "grpc_status", "cut", "retries"};
  /** The keys every event has: all but the last three, which are there only with a value. */
  private static final int PLAIN = 14;
  private static final int GRPC_STATUS = 14;
  private static final int CUT = 15;
  private static final int RETRIES = 16;

  private final TrafficEvent event;

  TrafficEventView(TrafficEvent event) {
    this.event = event;
  }

  TrafficEvent event() {
    return event;
  }

  @Override
  public Object get(Object key) {
    return key instanceof String name ? value(index(name)) : null;
  }

  @Override
  public boolean containsKey(Object key) {
    return key instanceof String name && index(name) >= 0;
  }

  @Override
  public int size() {
    return PLAIN + (event.grpcStatus() >= 0 ? 1 : 0) + (event.cut() ? 1 : 0) + (event.retries() > 0 ? 1 : 0);
  }

  /** Whether the key at {@code index} is in this event: the optional ones only when they have a value. */
  private boolean present(int index) {
    return index < PLAIN || index == GRPC_STATUS && event.grpcStatus() >= 0 || index == CUT && event.cut()
        || index == RETRIES && event.retries() > 0;
  }

  @Override
  public Set<Entry<String, Object>> entrySet() {
    return new AbstractSet<>() {
      @Override
      public Iterator<Entry<String, Object>> iterator() {
        return new Iterator<>() {
          private int next;

          @Override
          public boolean hasNext() {
            while (next < KEYS.length && !present(next)) {
              next++;
            }
            return next < KEYS.length;
          }

          @Override
          public Entry<String, Object> next() {
            if (!hasNext()) {
              throw new NoSuchElementException();
            }
            int i = next++;
            return new SimpleImmutableEntry<>(KEYS[i], value(i));
          }
        };
      }

      @Override
      public int size() {
        return TrafficEventView.this.size();
      }
    };
  }

  private int index(String key) {
    return switch (key) {
      case "timestamp" -> 0;
      case "request_id" -> 1;
      case "client" -> 2;
      case "consumer" -> 3;
      case "method" -> 4;
      case "path" -> 5;
      case "query" -> 6;
      case "protocol" -> 7;
      case "route" -> 8;
      case "backend" -> 9;
      case "instance" -> 10;
      case "status" -> 11;
      case "bytes" -> 12;
      case "latency_ms" -> 13;
      case "grpc_status" -> event.grpcStatus() >= 0 ? GRPC_STATUS : -1;
      case "cut" -> event.cut() ? CUT : -1;
      case "retries" -> event.retries() > 0 ? RETRIES : -1;
      default -> -1;
    };
  }

  private Object value(int index) {
    return switch (index) {
      case 0 -> event.timestamp();
      case 1 -> event.requestId();
      case 2 -> event.client();
      case 3 -> event.consumer();
      case 4 -> event.method();
      case 5 -> event.path();
      case 6 -> event.query();
      case 7 -> event.protocol();
      case 8 -> event.route();
      case 9 -> event.backend();
      case 10 -> event.instance();
      case 11 -> event.status();
      case 12 -> event.bytes();
      case 13 -> event.latencyMs();
      case GRPC_STATUS -> event.grpcStatus();
      case CUT -> TrafficEvent.CUT_BY_BACKEND;
      case RETRIES -> event.retries();
      default -> null;
    };
  }
}
