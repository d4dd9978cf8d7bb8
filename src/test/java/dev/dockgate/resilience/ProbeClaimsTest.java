package dev.dockgate.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.resilience.ProbeClaims.Heard;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Peers' claims as one node hears them: full sets, changes by version and digest, heartbeats, staleness. */
class ProbeClaimsTest {

  private static final Set<String> AB = Set.of("svc/a", "svc/b");

  private static ProbeClaims holding(Set<String> keys) {
    ProbeClaims claims = new ProbeClaims();
    assertTrue(claims.full("n1", 1, keys, 0));
    return claims;
  }

  @Test
  void theDigestFollowsTheKeysWhateverTheirOrder() {
    assertEquals(ProbeClaims.digest(List.of("svc/a", "svc/b")), ProbeClaims.digest(List.of("svc/b", "svc/a")));
    assertTrue(ProbeClaims.digest(List.of("svc/a")) != ProbeClaims.digest(List.of("svc/b")));
    assertEquals(0, ProbeClaims.digest(List.of()));
  }

  @Test
  void aChangeThatFollowsOnIsApplied() {
    ProbeClaims claims = holding(AB);
    Set<String> next = Set.of("svc/b", "svc/c");
    assertEquals(Heard.CHANGED, claims.change("n1", 2, ProbeClaims.digest(next), List.of("svc/c"), List.of("svc/a"), 5));
    assertEquals(Map.of("n1", next), claims.keys());
    assertEquals(Heard.SAME, claims.heartbeat("n1", 2, ProbeClaims.digest(next), 10));
    assertEquals(Heard.SAME, claims.change("n1", 2, ProbeClaims.digest(next), List.of("svc/c"), List.of("svc/a"), 11),
        "a repeat is not applied twice");
  }

  @Test
  void whatDoesNotFollowOnAsksForTheFullSet() {
    assertEquals(Heard.NEEDS_FULL, new ProbeClaims().heartbeat("n9", 3, 42, 0), "an unknown node");
    assertEquals(Heard.NEEDS_FULL, new ProbeClaims().change("n9", 3, 42, List.of("svc/x"), List.of(), 0));
    ProbeClaims claims = holding(AB);
    assertEquals(Heard.NEEDS_FULL, claims.change("n1", 3, ProbeClaims.digest(Set.of("svc/a", "svc/b", "svc/c")),
        List.of("svc/c"), List.of(), 0), "version 2 was missed");
    assertEquals(Heard.NEEDS_FULL, claims.change("n1", 2, 12345, List.of("svc/c"), List.of(), 0), "digest differs");
    assertEquals(AB, claims.keys().get("n1"), "a change that does not check out is not applied");
    assertEquals(Heard.NEEDS_FULL, claims.heartbeat("n1", 2, 0, 0), "a newer version");
    assertEquals(Heard.NEEDS_FULL, claims.heartbeat("n1", 1, 99, 0), "same version, another digest");
    assertEquals(Heard.SAME, claims.heartbeat("n1", 1, ProbeClaims.digest(AB), 0));
  }

  @Test
  void anOlderFullSetDoesNotReplaceANewerOne() {
    ProbeClaims claims = holding(AB);
    assertTrue(claims.full("n1", 4, Set.of("svc/z"), 1));
    assertFalse(claims.full("n1", 3, AB, 2), "a late reply from before the change");
    assertEquals(Set.of("svc/z"), claims.keys().get("n1"));
    assertFalse(claims.full("n1", 5, Set.of("svc/z"), 3), "same keys: nothing changed");
  }

  @Test
  void aClaimNotHeardForAWhileOrOfANodeGoneIsDropped() {
    ProbeClaims claims = holding(AB);
    claims.full("n2", 1, Set.of("svc/c"), 0);
    assertEquals(Heard.SAME, claims.heartbeat("n1", 1, ProbeClaims.digest(AB), 5_000));
    assertTrue(claims.expire(1_000), "n2 not heard since 0");
    assertEquals(Set.of("n1"), claims.keys().keySet());
    assertFalse(claims.expire(1_000));
    assertTrue(claims.forget("n1"));
    assertFalse(claims.forget("n1"));
    assertEquals(Map.of(), claims.counts());
  }
}
