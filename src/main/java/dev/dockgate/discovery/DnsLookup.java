package dev.dockgate.discovery;

import io.netty.resolver.HostsFileEntriesResolver;
import io.netty.resolver.ResolvedAddressTypes;
import io.netty.resolver.dns.DnsNameResolver;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.dns.impl.DnsAddressResolverProvider;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.PromiseInternal;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.spi.dns.AddressResolverProvider;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Every address of a name, A and AAAA (IPv4 first), with the settings the gateway's connections resolve with
 * ({@code addressResolverOptions}: servers or {@code /etc/resolv.conf}, hosts file, search domains, cache TTL bounds).
 * Vert.x's own resolver stops at the first family that answers (IPv4 when there is one): one address is all a
 * connection needs, where {@code dns_targets} wants them all; so this is a resolver of the same build that waits for
 * both. Its cache follows the records' TTL. Where Vert.x was told to use the JDK's resolver
 * ({@code -Dvertx.disableDnsResolver=true}), the JDK's lookup on a worker thread. Used on one context.
 */
final class DnsLookup {

  private final ContextInternal context;
  private final AddressResolverProvider provider;
  private final DnsNameResolver resolver;

  /** Completes its lookups on {@code context}, whose event loop its resolver's socket is on. */
  DnsLookup(Vertx vertx, io.vertx.core.Context context) {
    VertxInternal internal = (VertxInternal) vertx;
    this.context = (ContextInternal) context;
    this.provider = AddressResolverProvider.factory(vertx, internal.nameResolver().options());
    this.resolver = provider instanceof DnsAddressResolverProvider dns
        ? dns.getDnsNameResolverBuilder().copy()
            .resolvedAddressTypes(ResolvedAddressTypes.IPV4_PREFERRED)
            .completeOncePreferredResolved(false)
            .eventLoop(this.context.nettyEventLoop())
            .build()
        : null;
  }

  /** The name's addresses; fails when it has none or the lookup fails. Completes on this lookup's context. */
  Future<List<InetAddress>> addresses(String name) {
    if (resolver == null) {
      return context.executeBlocking(() -> List.of(InetAddress.getAllByName(name)), false);
    }
    List<InetAddress> hosts = fromHostsFile(name);
    if (!hosts.isEmpty()) {
      return context.succeededFuture(hosts);
    }
    PromiseInternal<List<InetAddress>> promise = context.promise();
    resolver.resolveAll(name).addListener(promise);
    return promise.future();
  }

  /**
   * The name's addresses in the hosts file, IPv4 then IPv6 (empty when it is not there: then DNS is asked), as
   * getaddrinfo gives both. Netty's resolver asks Vert.x's hosts file for one address of the preferred family only,
   * so a name written there with 127.0.0.1 and ::1 would be one instance.
   */
  private List<InetAddress> fromHostsFile(String name) {
    HostsFileEntriesResolver hosts = resolver.hostsFileEntriesResolver();
    if (hosts == null) {
      return List.of();
    }
    List<InetAddress> found = new ArrayList<>(2);
    for (ResolvedAddressTypes family : List.of(ResolvedAddressTypes.IPV4_ONLY, ResolvedAddressTypes.IPV6_ONLY)) {
      InetAddress address = hosts.address(name, family);
      if (address != null) {
        found.add(address);
      }
    }
    return found;
  }

  void close() {
    if (resolver != null) {
      resolver.close();
    }
    provider.close();
  }
}
