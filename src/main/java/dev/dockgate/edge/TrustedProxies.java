package dev.dockgate.edge;

import dev.dockgate.config.Cidr;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import java.util.List;

/**
 * Whose X-Forwarded-For the gateway believes ({@code server.trusted_proxies}) and so which address
 * is the client's: the peer's, unless the peer is a trusted proxy; then the right-most address of
 * X-Forwarded-For that is not itself a trusted proxy (each proxy appends the address it saw).
 * Immutable; called on the routers' event loops.
 */
public final class TrustedProxies {

  private static final CharSequence X_FORWARDED_FOR = io.vertx.core.http.HttpHeaders.createOptimized("x-forwarded-for");

  private final Cidr[] networks;

  public TrustedProxies(List<Cidr> networks) {
    this.networks = networks.toArray(new Cidr[0]);
  }

  /** The peer's address literal, or null when the request came over a unix socket. */
  public static String peer(HttpServerRequest request) {
    SocketAddress remote = request.remoteAddress();
    return remote == null ? null : remote.hostAddress();
  }

  /** Whether {@code address} (a literal) is a trusted proxy. */
  public boolean trusts(String address) {
    if (networks.length == 0 || address == null) {
      return false;
    }
    byte[] bytes = Cidr.literal(address.trim());
    for (Cidr network : networks) {
      if (network.contains(bytes)) {
        return true;
      }
    }
    return false;
  }

  /** Every X-Forwarded-For line joined, as one list (a proxy may add a line rather than append); null when none. */
  public static String chain(io.vertx.core.MultiMap headers) {
    String first = headers.get(X_FORWARDED_FOR);
    if (first == null) {
      return null;
    }
    java.util.List<String> all = headers.getAll(X_FORWARDED_FOR);
    return all.size() == 1 ? first : String.join(", ", all);
  }

  /** The client's address: see the class comment. */
  public String client(HttpServerRequest request, String peer, boolean peerTrusted) {
    if (!peerTrusted) {
      return peer;
    }
    String chain = chain(request.headers());
    if (chain == null) {
      return peer;
    }
    String[] hops = chain.split(",");
    for (int i = hops.length - 1; i >= 0; i--) {
      String hop = hops[i].trim();
      if (Cidr.literal(hop) == null) {
        return peer; // a chain the gateway cannot read names nobody it can trust
      }
      if (!trusts(hop) || i == 0) {
        return hop;
      }
    }
    return peer;
  }
}
