package dev.dockgate.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Rendezvous hashing of instance keys over gateway nodes: one owner each, spread, and little movement; with claims,
 * each instance owned by one of the nodes that know it, whatever the others know.
 */
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

  /** Node {@code node}'s view: the members, and the peers' claims as it heard them ({@code known}, itself left out). */
  private static ProbeOwners view(String node, Map<String, Set<String>> known) {
    Map<String, Set<String>> peers = new HashMap<>(known);
    peers.remove(node);
    return new ProbeOwners(node, known.keySet(), peers);
  }

  @Test
  void eachInstanceIsProbedByExactlyOneOfTheNodesThatKnowIt() {
    // a and b know the shared instances; c knows them and 40 of its own; b knows 40 nobody else does.
    Set<String> shared = new HashSet<>(keys(300));
    Set<String> onlyC = new HashSet<>(keys(340).subList(300, 340));
    Set<String> onlyB = Set.of(keys(380).subList(340, 380).toArray(String[]::new));
    Map<String, Set<String>> known = Map.of(
        NODES.get(0), shared,
        NODES.get(1), union(shared, onlyB),
        NODES.get(2), union(shared, onlyC));
    Map<String, Integer> shares = new HashMap<>();
    for (String key : keys(380)) {
      List<String> probers = NODES.stream().filter(n -> known.get(n).contains(key) && view(n, known).mine(key)).toList();
      assertEquals(1, probers.size(), key + " probed by " + probers);
      String owner = probers.get(0);
      // A node is only ever asked about the instances it checks.
      for (String node : NODES.stream().filter(n -> known.get(n).contains(key)).toList()) {
        assertEquals(owner, view(node, known).owner(key), key + " as node " + node + " sees it");
      }
      if (onlyC.contains(key)) {
        assertEquals(NODES.get(2), owner, key + " only c knows");
      } else if (onlyB.contains(key)) {
        assertEquals(NODES.get(1), owner, key + " only b knows");
      } else {
        shares.merge(owner, 1, Integer::sum);
      }
    }
    assertEquals(3, shares.size(), "the shared instances spread over the three: " + shares);
    shares.values().forEach(c -> assertTrue(c > 60 && c < 140, "uneven spread: " + shares));
  }

  @Test
  void anInstanceNoPeerClaimsIsProbedHere() {
    // Just started: nothing heard yet; every instance this node knows is its own, whatever the members.
    ProbeOwners fresh = new ProbeOwners(NODES.get(0), NODES, Map.of());
    keys(50).forEach(key -> assertTrue(fresh.mine(key), key));
    // A claim from a node that is not (or no longer) a member counts for nothing.
    ProbeOwners gone = new ProbeOwners(NODES.get(0), List.of(NODES.get(0)), Map.of(NODES.get(1), Set.copyOf(keys(50))));
    keys(50).forEach(key -> assertTrue(gone.mine(key), key));
  }

  @Test
  void aJoinerTakesOverOnlyOnceHeardAndNothingGoesUnprobedMeanwhile() {
    String a = NODES.get(0);
    String b = NODES.get(1);
    String c = NODES.get(2);
    Set<String> all = Set.copyOf(keys(300));
    // c has joined the membership and asked a and b for their claims; a and b have not heard c's yet.
    ProbeOwners aBefore = new ProbeOwners(a, NODES, Map.of(b, all));
    ProbeOwners bBefore = new ProbeOwners(b, NODES, Map.of(a, all));
    ProbeOwners cNow = new ProbeOwners(c, NODES, Map.of(a, all, b, all));
    int doubled = 0;
    for (String key : all) {
      int probers = (aBefore.mine(key) ? 1 : 0) + (bBefore.mine(key) ? 1 : 0) + (cNow.mine(key) ? 1 : 0);
      assertTrue(probers >= 1, key + " unprobed during the handover");
      doubled += probers - 1;
    }
    assertTrue(doubled > 60 && doubled < 140, "c's third is probed twice until a and b hear c: " + doubled);
    // Heard: one prober each again.
    ProbeOwners aAfter = new ProbeOwners(a, NODES, Map.of(b, all, c, all));
    ProbeOwners bAfter = new ProbeOwners(b, NODES, Map.of(a, all, c, all));
    for (String key : all) {
      assertEquals(1, (aAfter.mine(key) ? 1 : 0) + (bAfter.mine(key) ? 1 : 0) + (cNow.mine(key) ? 1 : 0), key);
    }
  }

  private static Set<String> union(Set<String> x, Set<String> y) {
    Set<String> u = new HashSet<>(x);
    u.addAll(y);
    return u;
  }
}
