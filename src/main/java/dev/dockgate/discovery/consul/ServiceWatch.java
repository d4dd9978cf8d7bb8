package dev.dockgate.discovery.consul;

import dev.dockgate.config.ConsulConfig;
import dev.dockgate.config.ConsulService;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientRequest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BiConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Follows one Consul query (a service and its tags) with blocking queries, one after the other, and
 * hands each answer's usable entries on. Consul unreachable or refusing: keeps what was handed on,
 * retries with backoff (250 ms doubling to 5 s, with jitter) from a plain read, one WARNING per
 * outage and one INFO line when it answers again (one agent's queries meeting such a state together share their
 * lines: {@link AgentLines}). Runs on the importer's event loop.
 */
final class ServiceWatch {

  private static final Logger LOG = Logger.getLogger(ServiceWatch.class.getName());
  static final long MIN_BACKOFF_MS = 250;
  static final long MAX_BACKOFF_MS = 5_000;

  private final Vertx vertx;
  private final ConsulHealthClient client;
  private final ConsulService query;
  private final ConsulConfig config;
  private final AgentLines lines;
  private final BiConsumer<ConsulService, List<ConsulEntry>> listener;
  private final BlockingIndex index;
  private final Promise<Void> first = Promise.promise();
  private final Set<String> reportedUnusable = new HashSet<>();
  private HttpClientRequest inFlight;
  private long timer = -1;
  private boolean stopped;
  private boolean outage;
  private boolean filteredReported;
  /** The last answer came without X-Consul-Index (said once until one comes with it again). */
  private boolean noIndex;
  private long backoffMs = MIN_BACKOFF_MS;
  private int known;
  /**
   * How much later than the servers' cap on waits (and their jitter, an eighth) an answer must come to disprove the
   * cap: an answer capped by the servers can arrive that much later on a busy host, and a cap wrongly forgotten makes
   * every later timeout a suspected restore, read afresh (with a 300 ms cap an eighth is 38 ms, which a busy host's
   * scheduling exceeds).
   */
  private static final long LATE_SLACK_NANOS = 500_000_000L;

  /** An early answer without a change being checked by a plain read: the index it kept (0: none) and its time. */
  private long suspectedIndex;
  private long suspectedNanos;

  ServiceWatch(Vertx vertx, ConsulHealthClient client, ConsulService query, ConsulConfig config, AgentLines lines,
      BiConsumer<ConsulService, List<ConsulEntry>> listener) {
    this.vertx = vertx;
    this.client = client;
    this.query = query;
    this.config = config;
    this.lines = lines;
    this.listener = listener;
    this.index = new BlockingIndex(() -> System.nanoTime() / 1_000_000, config.minQueryIntervalMs());
  }

  /** Starts the loop; the future completes at its first outcome, answer or failure. */
  Future<Void> start() {
    next();
    return first.future();
  }

  void stop() {
    stopped = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    if (inFlight != null) {
      inFlight.reset();
    }
  }

  private String describe() {
    return "consul " + config.address() + " " + name();
  }

  /** The query as the lines name it: service and tags. */
  private String name() {
    return "service " + query.service() + (query.tags().isEmpty() ? "" : " tagged " + String.join(",", query.tags()));
  }

  /** Sends the next request, at once unless answers have been coming back too fast (rate limit). */
  private void next() {
    if (stopped) {
      return;
    }
    long delay = index.delayBeforeNext();
    if (delay > 0) {
      timer = vertx.setTimer(delay, id -> {
        timer = -1;
        next();
      });
      return;
    }
    // A little less than the configured wait, so that gateways started together spread their requests.
    long wait = config.waitMs() - ThreadLocalRandom.current().nextLong(config.waitMs() / 16 + 1);
    long sentIndex = index.index();
    long sentAt = System.nanoTime();
    client.query(query, sentIndex, wait, request -> inFlight = request).onComplete(ar -> {
      inFlight = null;
      if (stopped) {
        return;
      }
      if (ar.succeeded()) {
        long took = System.nanoTime() - sentAt;
        long cap = client.queryCapNanos();
        if (cap != Long.MAX_VALUE && sentIndex > 0 && took > cap + cap / 8 + LATE_SLACK_NANOS && client.capDisproved()) {
          // A query waited longer than the cap taken for the servers' max_query_time (beyond their jitter and a
          // busy host's delays): it was not one (an early answer for another reason, confirmed by chance); early
          // answers are checked for restores again.
          LOG.info(describe() + ": a blocking query waited " + took / 1_000_000 + " ms, longer than the "
              + cap / 1_000_000 + " ms taken for the servers' max_query_time; that limit is forgotten");
          cap = Long.MAX_VALUE;
        }
        answered(sentIndex, ar.result(), took, took < wait * 500_000L && took < cap - cap / 8);
      } else {
        failed(ar.cause());
      }
    });
  }

  /**
   * {@code early}: it came back in less than half its wait, and well before the servers' own cap on waits when one
   * was seen; {@code took}: how long it was out, in nanoseconds.
   */
  private void answered(long sentIndex, ConsulHealthClient.Answer answer, long took, boolean early) {
    if (answer.index() == ConsulHealthClient.NO_INDEX) {
      // Nothing to block on (a proxy between that passes only the headers it knows): a query sent with any index
      // would come back at once, and each answer would look like an index going back. Plain reads instead, paced
      // by the token bucket at min_query_interval_ms; a suspected restore cannot be checked without an index.
      index.reset();
      suspectedIndex = 0;
      if (!noIndex) {
        noIndex = true;
        lines.say(Level.WARNING, "answer without X-Consul-Index too, read every consul.min_query_interval_ms", name(),
            describe() + ": answers come without X-Consul-Index (a proxy between the gateway and the agent"
            + " dropping it?); reading it every consul.min_query_interval_ms (" + config.minQueryIntervalMs()
            + " ms) instead of with blocking queries");
      }
    } else if (noIndex) {
      noIndex = false;
      index.answered(answer.index());
      lines.say(Level.INFO, "carry X-Consul-Index again", name(),
          describe() + ": answers carry X-Consul-Index again; following it with blocking queries");
    } else {
      blockingAnswer(sentIndex, answer, took, early);
    }
    handOn(answer);
  }

  /** An answer with an index: Consul's index rules, and the checks for a restore and for the servers' cap. */
  private void blockingAnswer(long sentIndex, ConsulHealthClient.Answer answer, long took, boolean early) {
    index.answered(answer.index());
    if (answer.index() < sentIndex) {
      LOG.info(describe() + ": the index went back from " + sentIndex + " to " + answer.index()
          + "; reading again from the start");
    } else if (early && sentIndex > 0 && answer.index() == sentIndex) {
      // Let go well before its wait with nothing new: Consul does that when a snapshot restore abandons the state
      // store the query watched; the restored store may report a lower index, on which the next blocking query
      // would sit for a whole wait. A plain read sees the restored state at once.
      LOG.info(describe() + ": answered early without a change (a snapshot restore?); reading again from the start");
      index.reset();
      suspectedIndex = sentIndex;
      suspectedNanos = took;
    } else if (sentIndex == 0 && suspectedIndex > 0) {
      if (answer.index() == suspectedIndex && client.capSeen(suspectedNanos)) {
        // Nothing was restored: the servers end blocking queries sooner than wait_ms (their max_query_time), so
        // answers after about that long are plain timeouts from now on, for every service.
        LOG.info(describe() + ": nothing was restored: the servers end blocking queries after about "
            + suspectedNanos / 1_000_000 + " ms (their max_query_time, below consul.wait_ms " + config.waitMs()
            + "); answers after that long are taken as timeouts");
      }
      suspectedIndex = 0;
    }
  }

  /** The answer's usable entries to the listener, its ACL and outage news said, and the next request. */
  private void handOn(ConsulHealthClient.Answer answer) {
    List<ConsulEntry.Unusable> unusable = new ArrayList<>();
    List<ConsulEntry> entries = ConsulEntry.parse(answer.entries(), unusable);
    for (ConsulEntry.Unusable u : unusable) {
      if (reportedUnusable.add(u.description() + u.reason())) {
        LOG.info(describe() + ": instance " + u.description() + " skipped: " + u.reason());
      }
    }
    if (answer.filteredByAcls() && !filteredReported) {
      lines.say(Level.WARNING, "have instances hidden by the token's ACL policy too", name(),
          describe() + ": the token's ACL policy hides some instances (X-Consul-Results-Filtered-By-ACLs)");
    }
    filteredReported = answer.filteredByAcls();
    backoffMs = MIN_BACKOFF_MS;
    if (outage) {
      lines.say(Level.INFO, "answer again", name(), describe() + " answers again: " + entries.size()
          + " passing instance(s)");
    } else if (!first.future().isComplete()) {
      LOG.info(describe() + ": " + entries.size() + " passing instance(s)"
          + (noIndex ? "" : "; following it with blocking queries"));
    }
    outage = false;
    known = entries.size();
    listener.accept(query, entries);
    first.tryComplete();
    next();
  }

  private void failed(Throwable cause) {
    suspectedIndex = 0;
    // Back from an outage with a plain read: the agent may be another one, whose indexes differ.
    index.reset();
    if (!outage) {
      outage = true;
      String reason = String.valueOf(cause.getMessage());
      if (cause instanceof ConsulHealthClient.Refused refused && refused.status == 403) {
        reason += " (is consul.token right?)";
      } else if (cause instanceof ConsulHealthClient.Refused refused && refused.status == 429
          && reason.contains("too many concurrent connections")) {
        // go-connlimit's answer to a connection over the agent's limit per client IP (not the 429 of its rate limits)
        reason += " (every distinct consul_service/consul_tags query holds one connection to the agent while it"
            + " waits, and the agent's limits.http_max_conns_per_client, 200 by default, counts those of every client"
            + " on this IP: raise it, or query fewer distinct services from this host)";
      }
      // A timeout's text names the request (its path, index and wait), which differs per query: the state is the
      // timeout, so that the queries of an agent answering none (hung, or cut off) share its lines.
      String state = cause instanceof java.util.concurrent.TimeoutException ? "no answer in time" : reason;
      lines.say(Level.WARNING, "cannot be queried either (" + state + "), each keeping its last known instances",
          name(), describe() + " cannot be queried: " + reason + "; keeping " + known
          + " last known instance(s), retrying with backoff up to " + MAX_BACKOFF_MS + " ms");
    }
    first.tryComplete();
    long delay = backoffMs + ThreadLocalRandom.current().nextLong(backoffMs / 4 + 1);
    backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    timer = vertx.setTimer(delay, id -> {
      timer = -1;
      next();
    });
  }
}
