package dev.dockgate.discovery.consul;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.dockgate.testing.LoggedErrors;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One agent's shared lines, said on a real event loop with its timers. */
@Timeout(30)
class AgentLinesTest {

  private static final String LOGGER = "dev.dockgate.discovery.consul.AgentLinesTest";
  private static final String OUT = "cannot be queried either (Connection refused)";
  private static final String BACK = "answer again";

  private final Vertx vertx = Vertx.vertx();
  private final Context context = vertx.getOrCreateContext();
  private final AgentLines lines = new AgentLines(vertx, Logger.getLogger(LOGGER), "http://127.0.0.1:8500");

  @AfterEach
  void close() {
    vertx.close().await();
  }

  /** Runs {@code calls} on one event loop, as the importer does, and waits for them. */
  private void onLoop(Runnable calls) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    context.runOnContext(v -> {
      calls.run();
      done.complete(null);
    });
    done.get(10, TimeUnit.SECONDS);
  }

  /**
   * An agent coming and going within the hold: a query failing twice is named once in the summing line (before:
   * "2 more queries cannot be queried either: service b, service b", for one query), and the line about the
   * outage of b comes before the line about its return.
   */
  @Test
  void aQueryMeetingAStateTwiceIsCountedOnceAndTheLinesKeepTheirOrder() throws Exception {
    try (LoggedErrors said = new LoggedErrors(LOGGER, Level.INFO)) {
      onLoop(() -> {
        lines.say(Level.WARNING, OUT, "service a", "a cannot be queried");
        lines.say(Level.INFO, BACK, "service a", "a answers again");
        lines.say(Level.WARNING, OUT, "service b", "b cannot be queried");
        lines.say(Level.INFO, BACK, "service b", "b answers again");
        lines.say(Level.WARNING, OUT, "service b", "b cannot be queried");
        lines.flush();
      });
      assertEquals(List.of(
          "WARNING " + LOGGER + ": a cannot be queried",
          "INFO " + LOGGER + ": a answers again",
          "WARNING " + LOGGER + ": consul http://127.0.0.1:8500: 1 more query " + OUT + ": service b",
          "INFO " + LOGGER + ": consul http://127.0.0.1:8500: 1 more query " + BACK + ": service b"),
          said.lines());
    }
  }

  /**
   * An outage shorter than the hold: the queries that failed with the first are summed up before its return is
   * said, not 2 s after it.
   */
  @Test
  void theHeldLinesAreSaidBeforeALineAboutAnotherState() throws Exception {
    try (LoggedErrors said = new LoggedErrors(LOGGER, Level.INFO)) {
      onLoop(() -> {
        lines.say(Level.WARNING, OUT, "service a", "a cannot be queried");
        lines.say(Level.WARNING, OUT, "service b", "b cannot be queried");
        lines.say(Level.INFO, BACK, "service a", "a answers again");
      });
      assertEquals(List.of(
          "WARNING " + LOGGER + ": a cannot be queried",
          "WARNING " + LOGGER + ": consul http://127.0.0.1:8500: 1 more query " + OUT + ": service b",
          "INFO " + LOGGER + ": a answers again"), said.lines());
      onLoop(() -> lines.say(Level.INFO, BACK, "service b", "b answers again"));
      dev.dockgate.testing.Poll.until(java.time.Duration.ofSeconds(10), "the return summed up",
          () -> said.lines().size() == 4);
      assertEquals("INFO " + LOGGER + ": consul http://127.0.0.1:8500: 1 more query " + BACK + ": service b",
          said.lines().get(3));
    }
  }
}
