package dev.dockgate.observability;

import dev.dockgate.config.AccessLogConfig;
import dev.dockgate.events.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Logger;

/**
 * Writes one access-log line per traffic event. Lines are formatted on this verticle's event loop
 * into a buffer; the buffer is written by this log's own writer thread every 200 ms or once it
 * holds 64 KiB, so the event loop never waits on the disk and there is no thread hand-off per line.
 * While a write has not returned (a stalled pipe or disk), at most {@link #MAX_QUEUED} characters of
 * lines wait; later lines are dropped and counted, and the stall is said when it starts and, with the
 * count, when the write returns. A write that fails part-way (disk full) leaves no partial line: the
 * file is cut back to its last whole line (where it cannot be, a pipe, the next write starts with a
 * newline); the lines lost are counted and said at the first write that works again.
 * On {@link Addresses#ACCESS_LOG_REOPEN} (SIGUSR1) a file log is reopened at its path, as logrotate
 * expects after moving the file: lines buffered until then go to the old file, later ones to the new.
 * A changed {@code access_log} config is a new verticle beside the running one for a moment, both consuming the
 * events: each logs only the events of its side of one millisecond ({@link #handOver}), so that no request is
 * logged twice (by both, to one file or two) and none is left out.
 */
public final class AccessLogVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(AccessLogVerticle.class.getName());
  private static final long FLUSH_MS = 200;
  private static final int FLUSH_BYTES = 64 * 1024;
  /** Characters of lines that may wait while a write is in progress (4 MiB); later lines are dropped. */
  public static final int MAX_QUEUED = 4 * 1024 * 1024;
  /** How long a stop waits for the lines still buffered to be written. */
  private static final long STOP_WAIT_MS = 2_000;
  private static final byte[] NEWLINE = {'\n'};

  private final AccessLogConfig config;
  /**
   * The events this log writes: those stamped (their {@code timestamp}, ms) from {@code from} and before
   * {@code until}. Set by the verticle that hands the log over, read on this one's event loop.
   */
  private volatile long from;
  private volatile long until = Long.MAX_VALUE;
  /** One thread of its own: a write stuck on a pipe blocks neither an event loop nor Vert.x's worker pool. */
  private final ExecutorService writer = Executors.newSingleThreadExecutor(r -> {
    Thread thread = new Thread(r, "dockgate-access-log");
    thread.setDaemon(true);
    return thread;
  });
  private FileChannel out;
  private StringBuilder pending = new StringBuilder(FLUSH_BYTES + 1024);
  private int pendingLines;
  private Future<Void> writing;
  /** Lines dropped since the running write stalled. */
  private long dropped;
  /** Set by a failed write, cleared by the next one that works: one warning per episode. */
  private boolean failed;
  /** Lines lost to failed writes since the last one that worked. */
  private long lost;
  /** Writer thread only: the file ends in part of a line that could not be cut away. */
  private boolean partial;

  public AccessLogVerticle(AccessLogConfig config) {
    this(config, Long.MIN_VALUE);
  }

  /** A log that writes nothing until {@link #handOver} (when {@code from} is {@link Long#MAX_VALUE}). */
  public AccessLogVerticle(AccessLogConfig config, long from) {
    this.config = config;
    this.from = from;
  }

  /**
   * Hands the log from {@code before} (may be null) to {@code after}, whose consumer is registered: events stamped
   * from the next millisecond on are {@code after}'s, earlier ones {@code before}'s, whichever of the two receives
   * them first. {@code before} must stay deployed until the events stamped before that have reached it (they are
   * published as they are stamped: well within a second).
   */
  public static void handOver(AccessLogVerticle before, AccessLogVerticle after) {
    long cut = System.currentTimeMillis() + 1;
    if (before != null) {
      before.until = cut;
    }
    if (after != null) {
      after.from = cut;
    }
  }

  private boolean stdout() {
    return "stdout".equals(config.path());
  }

  @Override
  public Future<?> start() {
    return onWriter(this::open)
        .onFailure(err -> writer.shutdown())
        .compose(channel -> {
          out = channel;
          if (!stdout()) {
            dev.dockgate.config.AccessLogFile.opened(config.path());
          }
          vertx.setPeriodic(FLUSH_MS, id -> flush());
          return Future.all(
              vertx.eventBus().<JsonObject>localConsumer(Addresses.TRAFFIC, msg -> append(msg.body())).completion(),
              vertx.eventBus().localConsumer(Addresses.ACCESS_LOG_REOPEN, msg -> reopen()).completion());
        });
  }

  /** Runs {@code task} on the writer thread, tasks one at a time in order; completes on this verticle's context. */
  private <T> Future<T> onWriter(Callable<T> task) {
    Promise<T> promise = Promise.promise();
    try {
      writer.execute(() -> {
        try {
          T result = task.call();
          context.runOnContext(v -> promise.complete(result));
        } catch (Throwable e) {
          context.runOnContext(v -> promise.fail(e));
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      promise.fail(e); // stopped
    }
    return promise.future();
  }

  /**
   * Writes out what is buffered, then opens the path anew and closes the old file. Tasks of the writer thread
   * run one at a time in order, so no write lands between the two.
   */
  private void reopen() {
    if (stdout()) {
      return;
    }
    drain()
        .compose(v -> onWriter(() -> {
          FileChannel next = open();
          FileChannel old = out;
          out = next;
          partial = false;
          old.close();
          return null;
        }))
        .onSuccess(v -> LOG.info("access log reopened: " + config.path()))
        .onFailure(err -> LOG.warning("access log " + config.path() + " not reopened, still writing to the old file: "
            + err.getMessage()));
  }

  private FileChannel open() throws IOException {
    return stdout()
        ? new FileOutputStream(FileDescriptor.out).getChannel()
        : FileChannel.open(Path.of(config.path()), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.APPEND);
  }

  private void append(JsonObject event) {
    if (from != Long.MIN_VALUE || until != Long.MAX_VALUE) {
      long stamp = event.getLong("timestamp", 0L);
      if (stamp < from || stamp >= until) {
        return; // the other log's, during a hand-over
      }
    }
    if (writing != null && pending.length() >= MAX_QUEUED) {
      if (dropped++ == 0) {
        LOG.warning("access log writer stalled: a write to " + config.path() + " has not returned and "
            + (MAX_QUEUED >> 20) + " MiB of lines wait; further lines are dropped (counted) until it returns");
      }
      return;
    }
    pending.append(AccessLogLine.format(config.format(), event)).append('\n');
    pendingLines++;
    if (pending.length() >= FLUSH_BYTES) {
      flush();
    }
  }

  /** Hands the buffered lines to the writer; one write at a time, in order. */
  private Future<Void> flush() {
    if (writing != null || pending.length() == 0) {
      return Future.succeededFuture();
    }
    byte[] bytes = pending.toString().getBytes(StandardCharsets.UTF_8);
    int lines = pendingLines;
    pending = new StringBuilder(FLUSH_BYTES + 1024);
    pendingLines = 0;
    Future<Void> write = onWriter(() -> write(bytes, lines)).transform(ar -> Future.succeededFuture(
        written(ar.succeeded() ? ar.result() : new Written(lines, String.valueOf(ar.cause())))));
    writing = write;
    return write;
  }

  /** Flushes until nothing buffered is left, waiting for a write in progress first. */
  private Future<Void> drain() {
    return writing != null ? writing.eventually(this::drain) : flush().compose(v -> pending.length() == 0
        ? Future.succeededFuture() : drain());
  }

  /** On the writer thread: the lines in {@code bytes}, whole; the error and the lines lost when it failed. */
  private Written write(byte[] bytes, int lines) {
    ByteBuffer buffer = ByteBuffer.wrap(bytes);
    try {
      if (partial) {
        ByteBuffer newline = ByteBuffer.wrap(NEWLINE);
        while (newline.hasRemaining()) {
          out.write(newline);
        }
        partial = false;
      }
      while (buffer.hasRemaining()) {
        out.write(buffer);
      }
      return new Written(0, null);
    } catch (IOException e) {
      int done = buffer.position();
      int whole = 0;
      int end = 0;
      for (int i = 0; i < done; i++) {
        if (bytes[i] == '\n') {
          whole++;
          end = i + 1;
        }
      }
      cutBack(done - end);
      return new Written(lines - whole, e.getMessage() == null ? e.toString() : e.getMessage());
    }
  }

  /** Removes the {@code tail} bytes of a line written in part; where that cannot be done the next write starts a line. */
  private void cutBack(int tail) {
    if (tail == 0) {
      return;
    }
    try {
      out.truncate(out.size() - tail);
    } catch (IOException | RuntimeException e) {
      partial = true;
    }
  }

  private record Written(int lost, String error) {
  }

  /** On the event loop, after a write: says a failure once, its end with the lines lost, a stall's count. */
  private Void written(Written result) {
    writing = null;
    if (dropped > 0) {
      LOG.warning("access log writer stalled: " + dropped + " line(s) dropped; " + config.path() + " written again");
      dropped = 0;
    }
    if (result.error() != null) {
      lost += result.lost();
      if (!failed) {
        failed = true;
        LOG.warning("access log " + config.path() + " cannot be written: " + result.error());
      }
    } else if (failed) {
      failed = false;
      LOG.warning("access log " + config.path() + " writable again; " + lost + " line(s) lost");
      lost = 0;
    }
    if (pending.length() >= FLUSH_BYTES) {
      flush();
    }
    return null;
  }

  /**
   * Writes what is buffered and closes the file, waiting at most {@link #STOP_WAIT_MS}: a writer stuck on a
   * pipe nobody reads is left behind (its daemon thread does not hold the process).
   */
  @Override
  public Future<?> stop() {
    Promise<Void> done = Promise.promise();
    long timer = vertx.setTimer(STOP_WAIT_MS, id -> done.tryComplete());
    drain().eventually(() -> onWriter(() -> {
      if (!stdout()) {
        out.close();
      }
      return null;
    })).onComplete(ar -> done.tryComplete());
    return done.future().onComplete(ar -> {
      vertx.cancelTimer(timer);
      writer.shutdown();
      if (out != null && !stdout()) {
        dev.dockgate.config.AccessLogFile.closed(config.path());
      }
    });
  }
}
