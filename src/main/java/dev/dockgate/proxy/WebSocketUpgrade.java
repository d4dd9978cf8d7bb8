package dev.dockgate.proxy;

import dev.dockgate.config.RouteConfig;
import dev.dockgate.edge.PathNormalizer;
import dev.dockgate.pipeline.Exchange;
import dev.dockgate.resilience.UpstreamFailure;
import dev.dockgate.tracing.BackendTry;
import dev.dockgate.tracing.RequestTrace;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import java.util.logging.Logger;

/**
 * The WebSocket upgrades through one route: one try on an instance through its breaker, then the tunnel of
 * {@link UpgradeTunnel}, or the backend's refusal. One per route per router; called on its event loop.
 */
final class WebSocketUpgrade {

  /** The proxy terminal's lines keep its one logger name (log configurations and formats name it). */
  private static final Logger LOG = Logger.getLogger(ProxyHandler.class.getName());

  private final RouteConfig route;
  /** The name HTTPS instances' certificates must carry, when not their host; also the Host with pass_host: false. */
  private final String serverName;
  private final InstancePicker picker;
  private final java.util.concurrent.atomic.LongAdder inFlight;
  private final UpgradeTunnel tunnel;
  /** The route's prefix and redirect rewriting (see {@link StrippedPrefix}); null: none. */
  private final StrippedPrefix prefix;

  WebSocketUpgrade(RouteConfig route, String serverName, InstancePicker picker,
      java.util.concurrent.atomic.LongAdder inFlight, UpgradeTunnel tunnel, StrippedPrefix prefix) {
    this.route = route;
    this.serverName = serverName;
    this.picker = picker;
    this.inFlight = inFlight;
    this.tunnel = tunnel;
    this.prefix = prefix;
  }

  /**
   * One of {@code candidates}, passing over a first pick that cannot answer for another that can (see
   * {@link Tries#alternative}); null: none.
   */
  private Upstream available(Upstream[] candidates) {
    Upstream picked = picker.pick(candidates);
    if (picked != null && candidates.length > 1 && Tries.unavailable(picked)) {
      Upstream alternative = Tries.alternative(picker, Tries.without(candidates, picked));
      if (alternative != null) {
        picked = alternative;
      }
    }
    return picked;
  }

  /**
   * A WebSocket upgrade: one try on an available instance through its breaker, then a byte tunnel
   * or the backend's refusal with its body (see {@link UpgradeTunnel}). Never retried: after the 101
   * it is a tunnel. {@code beyond}: the backend's instances outside the router's window ({@code subset_size}), tried
   * when the window has none or none of its instances can answer.
   */
  void upgrade(Exchange exchange, Upstream[] candidates, Upstream[] beyond) {
    inFlight.increment();
    Upstream picked = available(candidates);
    if (beyond.length > 0 && (picked == null || Tries.unavailable(picked))) {
      Upstream other = available(beyond); // the window's picks cannot answer: the backend's other instances may
      if (other != null) {
        picked = other;
      }
    }
    if (picked == null) {
      inFlight.decrement();
      UpstreamFailure none = new UpstreamFailure.NoInstance(route.backend());
      exchange.answer(none.status(), Buffer.buffer(none.getMessage() + "\n"));
      return;
    }
    Upstream upstream = picked;
    upstream.started();
    exchange.instance(upstream.instance().name());
    Runnable done = () -> {
      upstream.finished();
      inFlight.decrement();
    };
    io.vertx.core.net.HostAndPort origin = upstream.origin(serverName);
    HttpServerRequest incoming = exchange.request();
    String path = PathNormalizer.normalize(incoming.path());
    String uri = incoming.query() == null ? path : path + "?" + incoming.query();
    if (route.stripPrefix()) {
      uri = StrippedPrefix.strip(uri, route.pathPrefix());
    }
    io.vertx.core.net.HostAndPort host = route.passHost() && incoming.authority() != null ? incoming.authority()
        : upstream.authority(serverName);
    RequestTrace trace = exchange.trace();
    BackendTry span = trace == null ? null : trace.backendTry(upstream.instance().name(), upstream.instance().host(),
        upstream.instance().port(), 0);
    String forwardedPrefix = prefix == null ? null : prefix.forwarded(incoming.headers(), exchange.trustedPeer());
    String head = HeaderPolicy.upgradeHead(exchange, uri, host, span, forwardedPrefix);
    dev.dockgate.resilience.Breaker breaker = upstream.breaker();
    // As any try (see Tries): let through in this generation, unguarded while the circuit is closed (through the
    // library, its success would close a circuit gone half-open meanwhile), through the library else (the probe).
    int generation = breaker.generation();
    boolean direct = breaker.closed();
    breaker.<UpgradeTunnel.Answer>execute(direct, () -> tunnel.request(upstream, origin, head,
        incoming.getHeader("Sec-WebSocket-Key"), incoming.response())).onComplete(ar -> {
      if (ar.failed()) {
        if (direct && ar.cause() instanceof java.net.ConnectException
            && upstream.inStartupGrace(System.nanoTime())) {
          // Refused in its startup grace, as a try (Tries): not listening yet, not counted; passed over for a moment.
          upstream.passOver(System.nanoTime(), TryFailures.PASS_OVER_NANOS);
        } else {
          breaker.failed(ar.cause(), direct);
        }
        UpstreamFailure failure = UpstreamFailure.classify(ar.cause(), route.backend());
        if (span != null) {
          span.failed(failure.getClass().getSimpleName(), failure.getMessage());
        }
        if (failure instanceof UpstreamFailure.TlsFailed tls && upstream.firstTlsFailure()) {
          LOG.warning(tls.logLine(upstream.instance().toString()));
        } else if (failure instanceof UpstreamFailure.OutOfDescriptors) {
          dev.dockgate.edge.FileDescriptors.backendConnectFailed(route.backend(), upstream.instance().toString());
        }
        done.run();
        exchange.answer(failure.status(), Buffer.buffer(failure.getMessage() + "\n"));
        return;
      }
      breaker.succeeded(generation);
      UpgradeTunnel.Answer answer = ar.result();
      if (span != null) {
        span.answered(answer.status());
      }
      if (prefix != null && prefix.rewrites()) {
        // A refusal's redirects; the cookies of a 101 too (a session or sticky cookie set on the handshake).
        prefix.rewrite(answer.status(), answer.headers(), forwardedPrefix, incoming.authority(), exchange.secure(),
            host, upstream.instance());
      }
      if (answer.status() == 101) {
        tunnel.switchProtocols(exchange, answer, done);
      } else {
        tunnel.refuse(exchange, answer, route.backend(), done);
      }
    });
  }
}
