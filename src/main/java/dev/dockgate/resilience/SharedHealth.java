package dev.dockgate.resilience;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The health of actively checked instances as this node sees it: its own probe results for the instances it
 * owns ({@link ProbeOwners}), the owners' reports for the others. An instance whose probing moves here starts
 * from its last known health, so one marked down stays down until it passes. Pure; the health checker's event loop.
 */
final class SharedHealth {

  private ProbeOwners owners;
  /** The instances this node owns and has probed at least once. */
  private final Map<String, HealthState> probed = new HashMap<>();
  /** Unhealthy instances, whoever found it; every other known instance is healthy. */
  private final Set<String> down = new HashSet<>();

  SharedHealth(ProbeOwners owners) {
    this.owners = owners;
  }

  ProbeOwners owners() {
    return owners;
  }

  /** The members changed: probing moves with the owners; the health of instances that moved away stays as it was. */
  void members(ProbeOwners next) {
    owners = next;
    probed.keySet().removeIf(key -> !next.mine(key));
  }

  boolean mine(String key) {
    return owners.mine(key);
  }

  boolean healthy(String key) {
    return !down.contains(key);
  }

  /** This node's probe of an instance it owns; true when the instance's health changed. */
  boolean probed(String key, boolean passed, int healthyThreshold, int unhealthyThreshold) {
    HealthState state = probed.computeIfAbsent(key, k -> new HealthState(healthyThreshold, unhealthyThreshold, healthy(k)));
    state.record(passed);
    return set(key, state.healthy());
  }

  /** A peer's report; true when the health changed. Ignored for an instance this node probes itself. */
  boolean reported(String key, boolean healthy) {
    return !probed.containsKey(key) && set(key, healthy);
  }

  private boolean set(String key, boolean healthy) {
    return healthy ? down.remove(key) : down.add(key);
  }

  /** Forgets every instance not in {@code live}; returns those of them that were unhealthy. */
  List<String> retain(Set<String> live) {
    probed.keySet().retainAll(live);
    List<String> gone = new ArrayList<>();
    for (String key : down) {
      if (!live.contains(key)) {
        gone.add(key);
      }
    }
    gone.forEach(down::remove);
    return gone;
  }

  /** What this node found, for its peers: the health of each instance it probes. */
  Map<String, Boolean> ownFindings() {
    Map<String, Boolean> findings = new HashMap<>();
    probed.forEach((key, state) -> findings.put(key, state.healthy()));
    return findings;
  }

  Set<String> unhealthy() {
    return Set.copyOf(down);
  }
}
