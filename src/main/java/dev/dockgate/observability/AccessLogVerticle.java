package dev.dockgate.observability;

import dev.dockgate.config.AccessLogConfig;
import dev.dockgate.events.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.logging.Logger;

/**
 * Writes one access-log line per traffic event. Deployed as a worker verticle: the blocking writes
 * happen on a worker thread, never on an event loop. Lines are buffered and flushed every 200 ms.
 */
public final class AccessLogVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(AccessLogVerticle.class.getName());
  private static final long FLUSH_MS = 200;

  private final AccessLogConfig config;
  private Writer out;
  private boolean failed;

  public AccessLogVerticle(AccessLogConfig config) {
    this.config = config;
  }

  @Override
  public Future<?> start() throws IOException {
    out = "stdout".equals(config.path())
        ? new BufferedWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8))
        : Files.newBufferedWriter(Path.of(config.path()), StandardCharsets.UTF_8,
            StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    vertx.setPeriodic(FLUSH_MS, id -> flush());
    return vertx.eventBus().<JsonObject>consumer(Addresses.TRAFFIC, msg -> write(msg.body())).completion();
  }

  private void write(JsonObject event) {
    try {
      out.write(AccessLogLine.format(config.format(), event));
      out.write('\n');
    } catch (IOException e) {
      report(e);
    }
  }

  private void flush() {
    try {
      out.flush();
    } catch (IOException e) {
      report(e);
    }
  }

  private void report(IOException e) {
    if (!failed) {
      failed = true;
      LOG.warning("access log " + config.path() + " cannot be written: " + e.getMessage());
    }
  }

  @Override
  public Future<?> stop() throws IOException {
    out.flush();
    if (!"stdout".equals(config.path())) {
      out.close();
    }
    return Future.succeededFuture();
  }
}
