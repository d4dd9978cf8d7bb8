package dev.dockgate.cluster;

import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import io.vertx.core.Context;
import io.vertx.core.spi.cluster.ClusterManager;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.util.UUID;

/**
 * Calls back on a verticle's context each time a member joins or leaves the cluster (cleanly, or found dead by
 * Hazelcast's failure detection). A listener of its own on Hazelcast's cluster: Vert.x keeps the cluster manager's
 * single node listener for its event bus. Registered and removed on the verticle's context; Hazelcast calls it on
 * its event thread, from where it only hops to the context.
 */
final class MembershipWatch implements MembershipListener {

  private final HazelcastClusterManager manager;
  private final Context context;
  private final Runnable onChange;
  private UUID registration;

  private MembershipWatch(HazelcastClusterManager manager, Context context, Runnable onChange) {
    this.manager = manager;
    this.context = context;
    this.onChange = onChange;
  }

  static MembershipWatch start(ClusterManager manager, Context context, Runnable onChange) {
    MembershipWatch watch = new MembershipWatch((HazelcastClusterManager) manager, context, onChange);
    watch.registration = watch.manager.getHazelcastInstance().getCluster().addMembershipListener(watch);
    return watch;
  }

  @Override
  public void memberAdded(MembershipEvent event) {
    context.runOnContext(v -> onChange.run());
  }

  @Override
  public void memberRemoved(MembershipEvent event) {
    context.runOnContext(v -> onChange.run());
  }

  void close() {
    if (manager.isActive()) {
      manager.getHazelcastInstance().getCluster().removeMembershipListener(registration);
    }
  }
}
