package dev.dockgate.discovery.consul;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The index rules of Consul's "Blocking Queries" page, and the loop's rate limit, on a clock the test moves. */
class BlockingIndexTest {

  static Stream<Arguments> answers() {
    return Stream.of(
        // index sent before, X-Consul-Index answered, index sent next
        Arguments.of("first read", 0L, 7L, 7L),
        Arguments.of("unchanged after the wait", 7L, 7L, 7L),
        Arguments.of("moved on", 7L, 12L, 12L),
        Arguments.of("went backwards: reset to 0, a plain read", 12L, 3L, 0L),
        Arguments.of("0 answered to a plain read: 1, which blocks", 0L, 0L, 1L),
        Arguments.of("missing header read as 0 after a plain read", 0L, 0L, 1L),
        Arguments.of("0 answered to a blocking query: went backwards", 5L, 0L, 0L),
        Arguments.of("1 answered to 1", 1L, 1L, 1L));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("answers")
  void indexRules(String name, long sent, long answered, long next) {
    BlockingIndex index = new BlockingIndex(() -> 0, 1_000);
    if (sent > 0) {
      index.answered(sent);
    }
    assertEquals(sent, index.index());
    index.answered(answered);
    assertEquals(next, index.index(), name);
  }

  @ParameterizedTest(name = "reset after an outage from {0}")
  @MethodSource("resets")
  void resetStartsFromAPlainRead(long before) {
    BlockingIndex index = new BlockingIndex(() -> 0, 1_000);
    index.answered(before);
    index.reset();
    assertEquals(0, index.index());
  }

  static Stream<Long> resets() {
    return Stream.of(1L, 42L);
  }

  @org.junit.jupiter.api.Test
  void aBurstOfThreeThenOneRequestPerSecond() {
    long[] now = {1_000};
    BlockingIndex index = new BlockingIndex(() -> now[0], 1_000);
    assertEquals(0, index.delayBeforeNext());
    assertEquals(0, index.delayBeforeNext());
    assertEquals(0, index.delayBeforeNext());
    assertEquals(1_000, index.delayBeforeNext(), "the fourth at once waits a full refill");
    now[0] += 400;
    assertEquals(600, index.delayBeforeNext());
    now[0] += 600;
    assertEquals(0, index.delayBeforeNext());
    now[0] += 60_000; // a quiet minute refills the burst, no more
    for (int i = 0; i < BlockingIndex.BURST; i++) {
      assertEquals(0, index.delayBeforeNext());
    }
    assertEquals(1_000, index.delayBeforeNext());
  }

  @org.junit.jupiter.api.Test
  void theRefillIsTheConfiguredInterval() {
    long[] now = {1_000};
    BlockingIndex index = new BlockingIndex(() -> now[0], 15_000);
    for (int i = 0; i < BlockingIndex.BURST; i++) {
      assertEquals(0, index.delayBeforeNext());
    }
    assertEquals(15_000, index.delayBeforeNext(), "Consul's suggested pace for a busy cluster");
    now[0] += 14_000;
    assertEquals(1_000, index.delayBeforeNext());
  }
}
