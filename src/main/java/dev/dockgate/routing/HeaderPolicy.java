package dev.dockgate.routing;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;
import io.vertx.httpproxy.ProxyRequest;
import io.vertx.httpproxy.ProxyResponse;

/**
 * What the gateway changes in headers on the way through: drops hop-by-hop headers (RFC 9110
 * §7.6.1, including those the Connection header names), keeps the client's Host, and sets
 * X-Forwarded-For/-Proto/-Host; folds HTTP/2 cookie fields into one header. Stateless; called on the request's event loop.
 */
public final class HeaderPolicy {

  private static final String[] HOP_BY_HOP = {
      "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
      "te", "trailer", "transfer-encoding", "upgrade"};

  private HeaderPolicy() {
  }

  public static void onRequest(ProxyRequest request) {
    HttpServerRequest client = request.proxiedRequest();
    MultiMap headers = request.headers();
    dropConnectionNamed(headers);
    headers.remove("proxy-connection");
    HostAndPort authority = client.authority();
    if (authority != null) {
      request.setAuthority(authority);
      headers.set("x-forwarded-host", authority.toString());
    }
    SocketAddress remote = client.remoteAddress();
    if (remote != null) {
      String ip = remote.hostAddress();
      String prior = headers.get("x-forwarded-for");
      headers.set("x-forwarded-for", prior == null || prior.isBlank() ? ip : prior + ", " + ip);
    }
    headers.set("x-forwarded-proto", client.isSSL() ? "https" : "http");
    if (client.version() == HttpVersion.HTTP_2) {
      // HTTP/2 may split cookies into several fields; HTTP/1.1 allows one Cookie header (RFC 9113 §8.2.3).
      java.util.List<String> cookies = headers.getAll("cookie");
      if (cookies.size() > 1) {
        headers.set("cookie", String.join("; ", cookies));
      }
    }
  }

  public static void onResponse(ProxyResponse response) {
    MultiMap headers = response.headers();
    dropConnectionNamed(headers);
    boolean switching = response.getStatusCode() == 101;
    for (String name : HOP_BY_HOP) {
      if (switching && (name.equals("upgrade") || name.equals("connection"))) {
        continue;
      }
      headers.remove(name);
    }
  }

  /** Removes every header listed as a token of the Connection header (the Connection header itself stays for the library). */
  private static void dropConnectionNamed(MultiMap headers) {
    for (String value : headers.getAll("connection")) {
      for (String token : value.split(",")) {
        String name = token.trim();
        if (!name.isEmpty() && !name.equalsIgnoreCase("upgrade") && !name.equalsIgnoreCase("connection")) {
          headers.remove(name);
        }
      }
    }
  }
}
