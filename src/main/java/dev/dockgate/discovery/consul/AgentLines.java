package dev.dockgate.discovery.consul;

import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What one agent's queries say about a state they meet together (the agent gone away, a proxy dropping
 * X-Consul-Index, their return): the first query's line at once and in full, the queries meeting the same state
 * after it in one line naming them, said once none has joined for {@link #HOLD_MS} (or {@link #MAX_HOLD_MS} after
 * the first line). Queries come back from an outage at their own backoff, up to some 6 s apart. An agent followed for
 * 100 services then says two lines, not 100. A line about another state says the held ones first, so that the lines
 * keep the order of what they tell (an outage shorter than the hold: its summing line before "answers again", not
 * after, as if the agent had gone away once more); a query is named once per summing line, however often it met the
 * state meanwhile (an agent coming and going). Used on the importer's event loop.
 */
final class AgentLines {

  static final long HOLD_MS = 2_000;
  static final long MAX_HOLD_MS = 15_000;
  /** How many queries the summing line names; it counts the rest. */
  static final int NAMED = 5;

  private final Vertx vertx;
  private final Logger log;
  private final String agent;
  /**
   * Per state, the queries that met it since its first line (or its last summing line), while that line's hold lasts;
   * in the order the holds began, the order their lines are said in.
   */
  private final Map<String, Held> held = new LinkedHashMap<>();

  private static final class Held {
    final Level level;
    final Set<String> queries = new LinkedHashSet<>();
    final long firstNanos = System.nanoTime();
    long timer;

    Held(Level level) {
      this.level = level;
    }
  }

  AgentLines(Vertx vertx, Logger log, String agent) {
    this.vertx = vertx;
    this.log = log;
    this.agent = agent;
  }

  /**
   * Query {@code query} meets {@code state}: says {@code line} now unless another query's line about that state
   * is holding its summing line, else counts it in that line, which reads "consul AGENT: N more queries
   * STATE: names", so {@code state} is written for that sentence (e.g. "cannot be queried either (reason)").
   */
  void say(Level level, String state, String query, String line) {
    Held h = held.get(state);
    if (h != null) {
      h.queries.add(query);
      if ((System.nanoTime() - h.firstNanos) / 1_000_000 < MAX_HOLD_MS - HOLD_MS && vertx.cancelTimer(h.timer)) {
        h.timer = vertx.setTimer(HOLD_MS, id -> sum(state, h));
      }
      return;
    }
    // What is held was met before this: said first (each hold goes on, for the queries meeting its state later).
    for (Map.Entry<String, Held> e : held.entrySet()) {
      sayHeld(e.getKey(), e.getValue());
    }
    log.log(level, line);
    Held fresh = new Held(level);
    held.put(state, fresh);
    fresh.timer = vertx.setTimer(HOLD_MS, id -> sum(state, fresh));
  }

  /** Says the summing lines held back now (the importer stops). */
  void flush() {
    for (Map.Entry<String, Held> e : List.copyOf(held.entrySet())) {
      vertx.cancelTimer(e.getValue().timer);
      sum(e.getKey(), e.getValue());
    }
  }

  private void sum(String state, Held h) {
    held.remove(state, h);
    sayHeld(state, h);
  }

  /** The summing line of the queries {@code h} holds, if any; they are then said. */
  private void sayHeld(String state, Held h) {
    int n = h.queries.size();
    if (n == 0) {
      return;
    }
    List<String> queries = new ArrayList<>(h.queries);
    h.queries.clear();
    String names = String.join(", ", queries.subList(0, Math.min(NAMED, n)))
        + (n > NAMED ? " and " + (n - NAMED) + " more" : "");
    log.log(h.level, "consul " + agent + ": " + n + " more " + (n == 1 ? "query " : "queries ") + state + ": " + names);
  }
}
