package dev.dockgate.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** One node's view of shared health: its own probes for what it owns, peers' reports for the rest, takeovers. */
class SharedHealthTest {

  private static final List<String> AB = List.of("a", "b");

  /** Node a's view in a cluster of a and b. */
  private static SharedHealth nodeA() {
    return new SharedHealth(new ProbeOwners("a", AB));
  }

  /** The first of a run of instance keys that {@code node} owns among {@code members}. */
  private static String ownedBy(String node, List<String> members) {
    for (int i = 0; ; i++) {
      String key = "svc/static:127.0.0.1:" + (30000 + i);
      if (new ProbeOwners(node, members).mine(key)) {
        return key;
      }
    }
  }

  @Test
  void ownProbesDecideAndPeersReportsAreIgnoredForThem() {
    String mine = ownedBy("a", AB);
    SharedHealth health = nodeA();
    assertTrue(health.mine(mine));
    assertFalse(health.probed(mine, false, 2, 2));
    assertTrue(health.probed(mine, false, 2, 2), "down after two failures");
    assertFalse(health.reported(mine, true), "a peer cannot overrule this node's own probes");
    assertEquals(Set.of(mine), health.unhealthy());
    assertEquals(Map.of(mine, false), health.ownFindings());
  }

  @Test
  void peersReportsSetTheHealthOfWhatTheyProbe() {
    String theirs = ownedBy("b", AB);
    SharedHealth health = nodeA();
    assertFalse(health.mine(theirs));
    assertTrue(health.reported(theirs, false));
    assertFalse(health.reported(theirs, false), "no change, nothing to announce");
    assertEquals(Set.of(theirs), health.unhealthy());
    assertEquals(Map.of(), health.ownFindings());
    assertTrue(health.reported(theirs, true));
    assertEquals(Set.of(), health.unhealthy());
  }

  @Test
  void anInstanceTakenOverStaysDownUntilItPassesTheHealthyThreshold() {
    String theirs = ownedBy("b", AB);
    SharedHealth health = nodeA();
    health.reported(theirs, false);
    // b dies: a probes everything, starting from what b found.
    health.members(new ProbeOwners("a", List.of("a")));
    assertTrue(health.mine(theirs));
    assertFalse(health.probed(theirs, true, 2, 2), "one pass is not enough");
    assertEquals(Set.of(theirs), health.unhealthy());
    assertTrue(health.probed(theirs, true, 2, 2));
    assertEquals(Set.of(), health.unhealthy());
  }

  @Test
  void anInstanceHandedToAJoinerKeepsItsHealthUntilTheJoinerReports() {
    String key = ownedBy("c", List.of("a", "c"));
    SharedHealth health = new SharedHealth(ProbeOwners.alone("a"));
    health.probed(key, false, 1, 1);
    health.members(new ProbeOwners("a", List.of("a", "c")));
    assertFalse(health.mine(key));
    assertEquals(Set.of(key), health.unhealthy(), "still down: c has not said otherwise");
    assertEquals(Map.of(), health.ownFindings(), "no longer this node's to report");
    assertTrue(health.reported(key, true), "c's report now counts");
  }

  @Test
  void forgettingGoneInstancesReturnsTheUnhealthyOnes() {
    SharedHealth health = new SharedHealth(ProbeOwners.alone("a"));
    health.probed("svc/x", false, 1, 1);
    health.probed("svc/y", true, 1, 1);
    assertEquals(List.of("svc/x"), health.retain(Set.of("svc/z")));
    assertEquals(Set.of(), health.unhealthy());
    assertEquals(Map.of(), health.ownFindings());
  }
}
