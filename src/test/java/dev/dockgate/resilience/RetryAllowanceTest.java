package dev.dockgate.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.config.RetryConfig;
import org.junit.jupiter.api.Test;

/** A route's min_per_second retries: one allowance a second, whichever router's budget asks. */
class RetryAllowanceTest {

  @Test
  void perSecondRetriesFromTheFirstOneTakenThenANewSecond() {
    RetryAllowance allowance = new RetryAllowance(3);
    for (int i = 0; i < 3; i++) {
      assertTrue(allowance.take(5_000 + i));
    }
    assertFalse(allowance.take(5_999));
    assertTrue(allowance.take(6_000));
    assertFalse(new RetryAllowance(0).take(5_000));
  }

  @Test
  void twoRoutersBudgetsShareOneAllowanceAfterTheirOwnShares() {
    RetryConfig config = new RetryConfig(1, 0, 0, 50, 2, java.util.Set.of(), 0);
    RetryAllowance allowance = new RetryAllowance(config.minPerSecond());
    RetryBudget first = new RetryBudget(config, allowance);
    RetryBudget second = new RetryBudget(config, allowance);
    first.onRequest(1_000);
    first.onRequest(1_000); // 50% of two requests: one retry of its own
    int retries = 0;
    for (int i = 0; i < 5; i++) {
      retries += (first.tryRetry(1_100) ? 1 : 0) + (second.tryRetry(1_100) ? 1 : 0);
    }
    assertEquals(1 + 2, retries, "the first router's own retry, then the route's two of min_per_second");
  }
}
