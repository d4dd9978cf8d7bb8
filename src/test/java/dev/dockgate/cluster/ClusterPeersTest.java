package dev.dockgate.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Which listed members are peers, for the warning of a node that finds itself alone. */
class ClusterPeersTest {

  @Test
  void thisNodesOwnEntryIsNotAPeer() {
    assertEquals(List.of(), ClusterVerticle.peers(List.of("10.0.0.1:5701"), "10.0.0.1:5701", null));
    assertEquals(List.of("10.0.0.2:5701"),
        ClusterVerticle.peers(List.of("10.0.0.1:5701", "10.0.0.2:5701"), "10.0.0.1:5701", null));
  }

  @Test
  void aListNamingOnlyPeersIsAllPeers() {
    assertEquals(List.of("10.0.0.2:5701"), ClusterVerticle.peers(List.of("10.0.0.2:5701"), "10.0.0.1:5701", null));
    assertEquals(List.of("10.0.0.1:5702"), ClusterVerticle.peers(List.of("10.0.0.1:5702"), "10.0.0.1:5701", null));
  }

  @Test
  void thisNodeIsKnownByClusterHostAndByAddressAsWellAsText() {
    assertEquals(List.of(), ClusterVerticle.peers(List.of("gw1.internal:5701"), "10.0.0.1:5701", "gw1.internal"));
    assertEquals(List.of(), ClusterVerticle.peers(List.of("[0:0:0:0:0:0:0:1]:5701"), "::1:5701", null));
    assertEquals(List.of(), ClusterVerticle.peers(List.of(), "10.0.0.1:5701", null));
    assertEquals(List.of(), ClusterVerticle.peers(List.of("localhost:5701", "LOCALHOST:5701"), "127.0.0.1:5701", null));
    assertEquals(List.of(), ClusterVerticle.peers(List.of("localhost:5701"), "[::1]:5701", null));
    assertEquals(List.of("localhost:5702"), ClusterVerticle.peers(List.of("localhost:5702"), "127.0.0.1:5701", null));
    assertEquals(List.of("localhost:5701"), ClusterVerticle.peers(List.of("localhost:5701"), "10.0.0.1:5701", null));
  }
}
