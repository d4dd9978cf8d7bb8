package dev.dockgate.proxy;

import dev.dockgate.config.RouteConfig;
import dev.dockgate.events.TrafficEvent;
import dev.dockgate.pipeline.Exchange;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;

/**
 * The head of every answer through one route, the backend's or the gateway's own: its status, the backend's headers
 * but hop-by-hop ones with the route's prefix put back, as the route's stages edit them, and the request id. One per
 * route per router; called on its event loop.
 */
final class AnswerHead {

  private final RouteConfig route;
  /** The name HTTPS instances' certificates must carry, when not their host; also the Host with pass_host: false. */
  private final String serverName;
  /** The route's prefix and redirect rewriting (see {@link StrippedPrefix}); null: none. */
  private final StrippedPrefix prefix;

  AnswerHead(RouteConfig route, String serverName, StrippedPrefix prefix) {
    this.route = route;
    this.serverName = serverName;
    this.prefix = prefix;
  }

  /**
   * The head of any answer through this route, with {@code status}: {@code backend}'s headers but
   * hop-by-hop ones (none for the gateway's own answers), as the route's stages edit them, the
   * request id, and Connection: close after a body over the limit.
   */
  void answerHead(Attempt attempt, HttpServerResponse out, int status, MultiMap backend) {
    Exchange exchange = attempt.exchange;
    if (out.getStatusCode() != status) { // a new response is 200 already
      out.setStatusCode(status);
    }
    MultiMap target = out.headers();
    if (exchange.pipeline().seesResponses()) {
      MultiMap headers = HttpHeaders.headers();
      if (backend != null) {
        HeaderPolicy.copyResponse(status, backend, headers);
        if (prefix != null && prefix.rewrites()) {
          putPrefixBack(attempt, status, headers);
        }
      }
      exchange.pipeline().onResponse(exchange, headers);
      target.addAll(headers);
    } else if (backend != null) {
      HeaderPolicy.copyResponse(status, backend, target);
      if (prefix != null && prefix.rewrites()) {
        putPrefixBack(attempt, status, target);
      }
    }
    if (attempt.tooLarge && attempt.incoming.version() != HttpVersion.HTTP_2) {
      // The rest of the body is not read: EdgeGuard closes. HTTP/2 has no Connection header.
      target.set(HttpHeaders.CONNECTION, "close");
    }
    target.set(TrafficEvent.REQUEST_ID_HEADER, exchange.requestId());
  }

  /**
   * The backend's redirects in {@code answer} with the route's prefix put back and the client's origin for the
   * instance's (see {@link StrippedPrefix#rewrite}): the Host the client sent, the one the backend was sent (as
   * {@link BackendRequest#sendRequest} chose it) and the instance's address are the hosts of the backend's own URLs.
   * Allocates nothing for an answer without Location, Content-Location and Refresh (the authorities are kept by the
   * request and the instance).
   */
  private void putPrefixBack(Attempt attempt, int status, MultiMap answer) {
    io.vertx.core.net.HostAndPort client = attempt.incoming.authority();
    Upstream upstream = attempt.upstream;
    io.vertx.core.net.HostAndPort sent = client != null && route.passHost() ? client
        : upstream == null ? null : upstream.authority(serverName);
    prefix.rewrite(status, answer, attempt.prefix, client, attempt.exchange.secure(), sent,
        upstream == null ? null : upstream.instance());
  }
}
