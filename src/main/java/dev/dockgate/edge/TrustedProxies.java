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

  /** The peer's address literal ({@link #address}), or null when the request came over a unix socket. */
  public static String peer(HttpServerRequest request) {
    SocketAddress remote = request.remoteAddress();
    return remote == null ? null : address(remote);
  }

  /**
   * A peer's address as the gateway writes it (X-Forwarded-For, the access log, traffic events, {@code client_ip}
   * keys): IPv4 as the socket gives it, IPv6 as RFC 5952 writes it ({@code ::1}), as nginx does. The JDK's text
   * is the full form, {@code 0:0:0:0:0:0:0:1}, and on io_uring with the zone Netty sets, {@code 0:0:0:0:0:0:0:1%0},
   * which nginx's and Go's address parsers refuse: a backend reading X-Forwarded-For took the gateway for the
   * client. Allocates only for IPv6.
   */
  public static String address(SocketAddress remote) {
    String host = remote.hostAddress();
    return host == null || host.indexOf(':') < 0 ? host : Cidr.canonical(host);
  }

  /** Whether {@code address} (a literal) is a trusted proxy. */
  public boolean trusts(String address) {
    if (networks.length == 0 || address == null) {
      return false;
    }
    return trusts(Cidr.literal(address.trim()));
  }

  private boolean trusts(byte[] bytes) {
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

  /**
   * An entry's address without the port some proxies write beside it (Azure Application Gateway, IIS ARR:
   * {@code 192.0.2.5:4711}; RFC 7239's node form {@code [2001:db8::7]:4711}, or {@code [2001:db8::7]}), as nginx's
   * {@code real_ip} reads them; null when the entry has no such form.
   */
  static String withoutPort(String hop) {
    if (hop.startsWith("[")) {
      int close = hop.indexOf(']');
      return close > 1 && (close == hop.length() - 1 || port(hop, close + 1)) ? hop.substring(1, close) : null;
    }
    int colon = hop.indexOf(':');
    return colon > 0 && colon == hop.lastIndexOf(':') && port(hop, colon) ? hop.substring(0, colon) : null;
  }

  /**
   * Whether {@code text} from {@code colon} on is {@code :} and a port, 1 to 65535 in 1 to 5 digits, as nginx's
   * {@code real_ip} reads one: {@code :0} and {@code :99999} name no port a peer can have.
   */
  private static boolean port(String text, int colon) {
    int digits = text.length() - colon - 1;
    if (text.charAt(colon) != ':' || digits < 1 || digits > 5) {
      return false;
    }
    int port = 0;
    for (int i = colon + 1; i < text.length(); i++) {
      if (text.charAt(i) < '0' || text.charAt(i) > '9') {
        return false;
      }
      port = port * 10 + text.charAt(i) - '0';
    }
    return port >= 1 && port <= 65535;
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
      // Strictly: an entry another parser reads as another address, or not at all, is not one (see strictLiteral).
      byte[] address = Cidr.strictLiteral(hop);
      if (address == null && (hop = withoutPort(hop)) != null) {
        address = Cidr.strictLiteral(hop);
      }
      if (address == null) {
        return peer; // a chain the gateway cannot read names nobody it can trust
      }
      if (!trusts(address) || i == 0) {
        // One address, one client (its rate-limit budget, its log lines), however a proxy spelt it.
        return Cidr.isCanonical(hop, address) ? hop : Cidr.text(address);
      }
    }
    return peer;
  }
}
