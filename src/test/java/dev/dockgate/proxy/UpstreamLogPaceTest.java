package dev.dockgate.proxy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.discovery.Instance;
import org.junit.jupiter.api.Test;

/** An instance's recurring failures in the log: each kind at most once a minute, apart from the other. */
class UpstreamLogPaceTest {

  static final long S = 1_000_000_000L;

  @Test
  void resolveFailuresAndRefusalsAreEachSaidOnceAMinute() {
    Upstream upstream = new Upstream(new Instance("id", "i", "127.0.0.1", 9000), null);
    long t = 5 * S; // any nanoTime value
    assertTrue(upstream.resolveFailureToSay(t), "the first: said");
    assertFalse(upstream.resolveFailureToSay(t + S), "a flood of requests to it: not said again");
    assertTrue(upstream.refusalToSay(t + S), "another kind of failure: paced apart");
    assertFalse(upstream.refusalToSay(t + 2 * S));
    assertFalse(upstream.resolveFailureToSay(t + 60 * S - 1));
    assertTrue(upstream.resolveFailureToSay(t + 60 * S), "still unresolvable a minute later: said again");
    assertTrue(upstream.refusalToSay(t + 61 * S));
    assertFalse(upstream.refusalToSay(t + 62 * S));
  }

  /** System.nanoTime may read anything, 0 too: a line said then is said (0 stood for "never said", said again at once). */
  @Test
  void aLineSaidAtTimeZeroIsNotSaidAgainWithinTheMinute() {
    Upstream upstream = new Upstream(new Instance("id", "i", "127.0.0.1", 9000), null);
    assertTrue(upstream.refusalToSay(0));
    assertFalse(upstream.refusalToSay(S), "said at 0, a second later");
  }
}
