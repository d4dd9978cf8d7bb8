package dev.dockgate.proxy;

import dev.dockgate.events.TrafficEvent;
import dev.dockgate.pipeline.Exchange;
import dev.dockgate.tracing.BackendTry;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;

/**
 * What the gateway changes in headers on the way through: drops hop-by-hop headers (RFC 9110
 * §7.6.1, including those the Connection header names), keeps the client's Host, and sets
 * X-Forwarded-For/-Proto/-Host (and X-Forwarded-Prefix on routes that strip one); folds HTTP/2 cookie fields into one
 * header. Stateless; called on the request's event loop.
 */
public final class HeaderPolicy {

  // Header names with their hashes cached (these lookups run on every request).
  private static final CharSequence PROXY_CONNECTION = HttpHeaders.createOptimized("proxy-connection");
  private static final CharSequence X_FORWARDED_HOST = HttpHeaders.createOptimized("x-forwarded-host");
  private static final CharSequence X_FORWARDED_FOR = HttpHeaders.createOptimized("x-forwarded-for");
  private static final CharSequence X_FORWARDED_PROTO = HttpHeaders.createOptimized("x-forwarded-proto");
  private static final CharSequence HTTPS = HttpHeaders.createOptimized("https");
  private static final CharSequence HTTP = HttpHeaders.createOptimized("http");
  private static final CharSequence FORWARDED = HttpHeaders.createOptimized("forwarded");
  private static final CharSequence X_REAL_IP = HttpHeaders.createOptimized("x-real-ip");

  /** The hop-by-hop headers of {@link #hopByHop}, as names with cached hashes; Connection and Upgrade last. */
  private static final CharSequence[] HOP_BY_HOP = {HttpHeaders.createOptimized("keep-alive"), PROXY_CONNECTION,
      HttpHeaders.createOptimized("te"), HttpHeaders.createOptimized("trailer"), HttpHeaders.TRANSFER_ENCODING,
      HttpHeaders.createOptimized("proxy-authenticate"), HttpHeaders.createOptimized("proxy-authorization"),
      HttpHeaders.createOptimized("http2-settings"), HttpHeaders.CONNECTION, HttpHeaders.UPGRADE};

  /** Of {@link #HOP_BY_HOP}, those a 101 answer keeps: Connection and Upgrade switch the protocol. */
  private static final int SWITCHING_KEEPS = 2;

  static final CharSequence TE = HttpHeaders.createOptimized("te");
  static final CharSequence TRAILERS = HttpHeaders.createOptimized("trailers");

  /** Headers the gateway sets on every proxied request. */
  private static final java.util.Set<String> GATEWAY_SET = java.util.Set.of(TrafficEvent.CONSUMER,
      TrafficEvent.REQUEST_ID, "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-prefix");

  private HeaderPolicy() {
  }

  /**
   * The request toward the backend: {@code target} (the backend request's headers) gets the client's
   * headers but hop-by-hop ones, Host and Expect, then the rules of {@link #apply}. Order matters: first
   * what the client's Connection header names and other hop-by-hop headers go, then client headers
   * posing as the gateway's own, and only then the gateway sets its headers, so no client header can
   * remove or shadow them. {@code prefix}: the X-Forwarded-Prefix to send (see {@link StrippedPrefix#forwarded}), or
   * null on a route that strips none.
   */
  static void toBackend(HttpServerRequest client, MultiMap target, Exchange exchange, String prefix) {
    if (target.isEmpty()) {
      // The usual case, and the cheaper one: all of them in one pass over the client's headers, then
      // the few that do not go removed by name (same result and order as the loop below).
      target.setAll(client.headers());
      dropHopByHop(target, HOP_BY_HOP.length);
      target.remove(HttpHeaders.HOST);
      target.remove(HttpHeaders.EXPECT);
      apply(target, client, exchange, prefix);
      return;
    }
    for (java.util.Map.Entry<String, String> header : client.headers()) {
      String name = header.getKey();
      if (!hopByHop(name) && !name.equalsIgnoreCase("host") && !name.equalsIgnoreCase("expect")) {
        target.add(name, header.getValue());
      }
    }
    apply(target, client, exchange, prefix);
  }

  /**
   * The head of an upgrade request (WebSocket) as the gateway writes it to the backend itself: the
   * client's headers under the same rules, Host as given, and only Upgrade and Connection: Upgrade
   * of the hop-by-hop ones; the try's trace context when {@code span} is not null; {@code prefix} as in
   * {@link #toBackend}.
   */
  static String upgradeHead(Exchange exchange, String uri, HostAndPort host, BackendTry span, String prefix) {
    HttpServerRequest client = exchange.request();
    MultiMap headers = HttpHeaders.headers().addAll(client.headers());
    apply(headers, client, exchange, prefix);
    if (span != null) {
      span.inject(headers);
    }
    StringBuilder head = new StringBuilder(512).append("GET ").append(uri).append(" HTTP/1.1\r\nHost: ")
        .append(host).append("\r\n");
    for (java.util.Map.Entry<String, String> header : headers) {
      String name = header.getKey();
      if (name.equalsIgnoreCase("host") || (hopByHop(name) && !name.equalsIgnoreCase("upgrade"))) {
        continue;
      }
      head.append(name).append(": ").append(header.getValue()).append("\r\n");
    }
    return head.append("Connection: Upgrade\r\n\r\n").toString();
  }

  private static void apply(MultiMap headers, HttpServerRequest client, Exchange exchange, String prefix) {
    dropConnectionNamed(client.headers(), headers);
    headers.remove(PROXY_CONNECTION);
    dropOwned(headers, exchange.pipeline().ownedHeaders(), exchange.pipeline().lookAlikeGuarded(),
        exchange.pipeline().dashedLookAlikes());
    HostAndPort authority = client.authority();
    if (authority != null) {
      headers.set(X_FORWARDED_HOST, authority.toString());
    }
    SocketAddress remote = client.remoteAddress();
    if (remote != null) {
      // The peer's address; unless the peer is a trusted proxy, the exchange's client is that address already.
      String ip = exchange.trustedPeer() || exchange.client() == null
          ? dev.dockgate.edge.TrustedProxies.address(remote) : exchange.client();
      // A chain is believed only from a trusted proxy; anyone else's claim is replaced by what the gateway saw.
      String prior = exchange.trustedPeer() ? dev.dockgate.edge.TrustedProxies.chain(headers) : null;
      if (!exchange.trustedPeer()) {
        // Other ways of claiming the client's address are the client's word too.
        headers.remove(FORWARDED);
        headers.remove(X_REAL_IP);
      }
      headers.set(X_FORWARDED_FOR, prior == null || prior.isBlank() ? ip : prior + ", " + ip);
    }
    if (prefix != null) {
      headers.set(StrippedPrefix.X_FORWARDED_PREFIX, prefix);
    } else if (!exchange.trustedPeer()) {
      // Where the path was not cut, only a trusted proxy in front can have cut it (Traefik drops it too).
      headers.remove(StrippedPrefix.X_FORWARDED_PREFIX);
    }
    headers.set(X_FORWARDED_PROTO, exchange.secure() ? HTTPS : HTTP);
    headers.set(TrafficEvent.REQUEST_ID_HEADER, exchange.requestId());
    MultiMap forwarded = exchange.forwarded();
    if (forwarded != null) {
      for (java.util.Map.Entry<String, String> header : forwarded) { // setAll(MultiMap) would clear the rest
        headers.set(header.getKey(), header.getValue());
      }
    }
    if (client.version() == HttpVersion.HTTP_2) {
      // HTTP/2 may split cookies into several fields; HTTP/1.1 allows one Cookie header (RFC 9113 §8.2.3).
      java.util.List<String> cookies = headers.getAll("cookie");
      if (cookies.size() > 1) {
        headers.set("cookie", String.join("; ", cookies));
      }
    }
  }

  /**
   * Removes client headers the gateway sets itself on this route (the consumer, forwarded claims),
   * and any header whose name differs from one the gateway sets only by {@code _} for {@code -}:
   * CGI and WSGI backends read both as the same variable (HTTP_X_CONSUMER_NAME), or from one of {@code guarded}
   * (a superset of {@code owned}: also the headers a stage checked and lets through, such as a JWT route's token);
   * and, for a guarded name holding a {@code _} ({@code dashed}: those names with {@code -} for it), any other name
   * that reads the same with {@code -} for {@code _} ({@code X-Auth-Token} beside a checked {@code X_Auth_Token}), the
   * guarded name itself going on.
   */
  static void dropOwned(MultiMap headers, java.util.Set<String> owned, java.util.Set<String> guarded,
      java.util.Set<String> dashed) {
    headers.remove(TrafficEvent.CONSUMER_HEADER);
    for (String name : owned) {
      headers.remove(name);
    }
    java.util.List<String> lookalikes = null;
    for (java.util.Map.Entry<String, String> header : headers) {
      String name = header.getKey();
      boolean lookalike;
      if (name.indexOf('_') >= 0) {
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        String asDashed = lower.replace('_', '-');
        lookalike = GATEWAY_SET.contains(asDashed) || guarded.contains(asDashed)
            || dashed.contains(asDashed) && !guarded.contains(lower);
      } else {
        lookalike = !dashed.isEmpty() && dashed.contains(name.toLowerCase(java.util.Locale.ROOT));
      }
      if (lookalike) {
        if (lookalikes == null) {
          lookalikes = new java.util.ArrayList<>(2);
        }
        lookalikes.add(name);
      }
    }
    if (lookalikes != null) {
      lookalikes.forEach(headers::remove);
    }
  }

  /**
   * Copies a backend's answer headers ({@code status}) to {@code to}, without its hop-by-hop headers
   * and those its Connection header names; a 101 keeps Upgrade and Connection, which switch the
   * protocol. {@code from} is left as the backend sent it: the HTTP client reads its Connection
   * header at the answer's end to decide whether the connection can be used again.
   */
  static void copyResponse(int status, MultiMap from, MultiMap to) {
    boolean switching = status == 101;
    String connection = from.get(HttpHeaders.CONNECTION);
    if (to.isEmpty()) {
      // The usual case, and the cheaper one: all of them, then the hop-by-hop ones removed by name.
      to.setAll(from);
      dropHopByHop(to, switching ? HOP_BY_HOP.length - SWITCHING_KEEPS : HOP_BY_HOP.length);
      if (connection != null && !connection.equalsIgnoreCase("keep-alive")) { // Keep-Alive is gone already
        for (String value : from.getAll(HttpHeaders.CONNECTION)) {
          forEachNamed(value, to::remove);
        }
      }
      return;
    }
    java.util.List<String> named = null;
    if (connection != null) {
      named = new java.util.ArrayList<>(2);
      for (String value : from.getAll(HttpHeaders.CONNECTION)) {
        forEachNamed(value, named::add);
      }
    }
    for (java.util.Map.Entry<String, String> header : from) {
      String name = header.getKey();
      if (hopByHop(name) && !(switching && (name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("upgrade")))) {
        continue;
      }
      if (named != null && containsIgnoreCase(named, name)) {
        continue;
      }
      to.add(name, header.getValue());
    }
  }

  /** Whether the client's TE header lists {@code trailers} (RFC 9110 §10.1.4): it reads trailer fields. */
  static boolean acceptsTrailers(MultiMap clientHeaders) {
    if (clientHeaders.get(TE) == null) {
      return false;
    }
    for (String value : clientHeaders.getAll(TE)) {
      for (String member : value.split(",")) {
        int parameters = member.indexOf(';');
        if ((parameters < 0 ? member : member.substring(0, parameters)).trim().equalsIgnoreCase("trailers")) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Copies a backend's trailer fields to the client's response, but those that may not be trailers (RFC 9110
   * §6.5.1: framing, routing, the hop-by-hop ones) and pseudo-headers.
   */
  static void copyTrailers(MultiMap from, MultiMap to) {
    for (java.util.Map.Entry<String, String> field : from) {
      String name = field.getKey();
      if (name.isEmpty() || name.charAt(0) == ':' || hopByHop(name) || name.equalsIgnoreCase("content-length")
          || name.equalsIgnoreCase("host")) {
        continue;
      }
      to.add(name, field.getValue());
    }
  }

  private static boolean containsIgnoreCase(java.util.List<String> names, String name) {
    for (String n : names) {
      if (n.equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }

  /** Removes the first {@code count} names of {@link #HOP_BY_HOP} from {@code headers}. */
  private static void dropHopByHop(MultiMap headers, int count) {
    for (int i = 0; i < count; i++) {
      headers.remove(HOP_BY_HOP[i]);
    }
  }

  /** Removes from {@code target} every header listed as a token of {@code source}'s Connection header. */
  private static void dropConnectionNamed(MultiMap source, MultiMap target) {
    if (source.get(HttpHeaders.CONNECTION) == null) {
      return;
    }
    for (String value : source.getAll("connection")) {
      forEachNamed(value, target::remove);
    }
  }

  /** Each header a Connection header value names, but Upgrade and Connection, which switch protocols. */
  private static void forEachNamed(String connectionValue, java.util.function.Consumer<String> each) {
    for (String token : connectionValue.split(",")) {
      String name = token.trim();
      if (!name.isEmpty() && !name.equalsIgnoreCase("upgrade") && !name.equalsIgnoreCase("connection")) {
        each.accept(name);
      }
    }
  }

  /**
   * Whether {@code name} is hop-by-hop, in any case: Connection, Keep-Alive, Proxy-Connection,
   * Proxy-Authenticate, Proxy-Authorization, TE, Trailer, Transfer-Encoding, Upgrade, HTTP2-Settings.
   */
  static boolean hopByHop(String name) {
    return switch (name.length()) {
      case 2 -> name.equalsIgnoreCase("te");
      case 7 -> name.equalsIgnoreCase("trailer") || name.equalsIgnoreCase("upgrade");
      case 10 -> name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive");
      case 14 -> name.equalsIgnoreCase("http2-settings"); // an h2c upgrade's settings, for one connection only
      case 16 -> name.equalsIgnoreCase("proxy-connection");
      case 17 -> name.equalsIgnoreCase("transfer-encoding");
      case 18 -> name.equalsIgnoreCase("proxy-authenticate");
      case 19 -> name.equalsIgnoreCase("proxy-authorization");
      default -> false;
    };
  }
}
