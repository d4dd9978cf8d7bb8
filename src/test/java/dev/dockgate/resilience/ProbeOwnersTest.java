package dev.dockgate.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Rendezvous hashing of instance keys over gateway nodes: one owner each, spread, and little movement. */
class ProbeOwnersTest {

  private static final List<String> NODES = List.of("3f0c1a2e-node-a", "9b7d44c1-node-b", "c21e08f7-node-c");

  private static List<String> keys(int n) {
    return java.util.stream.IntStream.range(0, n).mapToObj(i -> "svc/static:127.0.0.1:" + (20000 + i)).toList();
  }

  @Test
  void everyNodeAgreesOnOneOwnerPerInstance() {
    for (String key : keys(200)) {
      String owner = new ProbeOwners(NODES.get(0), NODES).owner(key);
      int mine = 0;
      for (String node : NODES) {
        ProbeOwners view = new ProbeOwners(node, List.of(NODES.get(2), NODES.get(0), NODES.get(1)));
        assertEquals(owner, view.owner(key), key);
        mine += view.mine(key) ? 1 : 0;
      }
      assertEquals(1, mine, key + " probed by exactly one node");
    }
  }

  @Test
  void instancesSpreadOverTheNodes() {
    Map<String, Integer> counts = new HashMap<>();
    for (String key : keys(3000)) {
      counts.merge(new ProbeOwners(NODES.get(0), NODES).owner(key), 1, Integer::sum);
    }
    assertEquals(3, counts.size(), counts.toString());
    counts.values().forEach(c -> assertTrue(c > 800 && c < 1200, "uneven spread: " + counts));
  }

  @Test
  void aNodeLeavingMovesOnlyTheInstancesItProbed() {
    ProbeOwners three = new ProbeOwners(NODES.get(0), NODES);
    ProbeOwners two = new ProbeOwners(NODES.get(0), List.of(NODES.get(0), NODES.get(1)));
    int moved = 0;
    for (String key : keys(1000)) {
      String before = three.owner(key);
      if (!before.equals(NODES.get(2))) {
        assertEquals(before, two.owner(key), key + " moved though its owner stayed");
      } else {
        moved++;
        assertTrue(List.of(NODES.get(0), NODES.get(1)).contains(two.owner(key)));
      }
    }
    assertTrue(moved > 250 && moved < 420, "moved " + moved);
  }

  @Test
  void aloneOrUnlistedThisNodeOwnsWhatItWins() {
    ProbeOwners alone = ProbeOwners.alone("solo");
    keys(20).forEach(key -> assertTrue(alone.mine(key)));
    // A view from before this node's own arrival still counts it in.
    assertEquals(List.of("a", "b", "solo"), new ProbeOwners("solo", List.of("b", "a")).members());
  }
}
