package dev.dockgate.observability;

import dev.dockgate.config.AccessLogConfig;
import dev.dockgate.events.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.logging.Logger;

/**
 * Writes one access-log line per traffic event. Lines are formatted on this verticle's event loop
 * into a buffer; the buffer is written by a worker thread (executeBlocking) every 200 ms or once it
 * holds 64 KiB, so the event loop never waits on the disk and there is no thread hand-off per line.
 * On {@link Addresses#ACCESS_LOG_REOPEN} (SIGUSR1) a file log is reopened at its path, as logrotate
 * expects after moving the file: lines buffered until then go to the old file, later ones to the new.
 */
public final class AccessLogVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(AccessLogVerticle.class.getName());
  private static final long FLUSH_MS = 200;
  private static final int FLUSH_BYTES = 64 * 1024;

  private final AccessLogConfig config;
  private OutputStream out;
  private StringBuilder pending = new StringBuilder(FLUSH_BYTES + 1024);
  private boolean writing;
  private boolean failed;

  public AccessLogVerticle(AccessLogConfig config) {
    this.config = config;
  }

  @Override
  public Future<?> start() {
    return vertx.executeBlocking(this::open)
        .compose(stream -> {
          out = stream;
          vertx.setPeriodic(FLUSH_MS, id -> flush());
          return Future.all(
              vertx.eventBus().<JsonObject>localConsumer(Addresses.TRAFFIC, msg -> append(msg.body())).completion(),
              vertx.eventBus().localConsumer(Addresses.ACCESS_LOG_REOPEN, msg -> reopen()).completion());
        });
  }

  /**
   * Writes out what is buffered, then opens the path anew and closes the old file. Worker tasks of
   * this verticle run one at a time in order, so no write lands between the two.
   */
  private void reopen() {
    if ("stdout".equals(config.path())) {
      return;
    }
    flush()
        .compose(v -> vertx.executeBlocking(() -> {
          OutputStream next = open();
          OutputStream old = out;
          out = next;
          old.close();
          return null;
        }))
        .onSuccess(v -> {
          failed = false;
          LOG.info("access log reopened: " + config.path());
        })
        .onFailure(err -> LOG.warning("access log " + config.path() + " not reopened, still writing to the old file: "
            + err.getMessage()));
  }

  private OutputStream open() throws IOException {
    return "stdout".equals(config.path())
        ? new FileOutputStream(FileDescriptor.out)
        : Files.newOutputStream(Path.of(config.path()), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  private void append(JsonObject event) {
    pending.append(AccessLogLine.format(config.format(), event)).append('\n');
    if (pending.length() >= FLUSH_BYTES) {
      flush();
    }
  }

  /** Hands the buffered lines to a worker; one write at a time, in order. */
  private Future<Void> flush() {
    if (writing || pending.length() == 0) {
      return Future.succeededFuture();
    }
    byte[] bytes = pending.toString().getBytes(StandardCharsets.UTF_8);
    pending = new StringBuilder(FLUSH_BYTES + 1024);
    writing = true;
    return vertx.<Void>executeBlocking(() -> {
      out.write(bytes);
      out.flush();
      return null;
    }).onComplete(ar -> {
      writing = false;
      if (ar.failed() && !failed) {
        failed = true;
        LOG.warning("access log " + config.path() + " cannot be written: " + ar.cause().getMessage());
      }
    });
  }

  @Override
  public Future<?> stop() {
    return flush().eventually(() -> vertx.executeBlocking(() -> {
      if (!"stdout".equals(config.path())) {
        out.close();
      }
      return null;
    }));
  }
}
