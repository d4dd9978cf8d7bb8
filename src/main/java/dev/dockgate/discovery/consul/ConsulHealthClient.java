package dev.dockgate.discovery.consul;

import dev.dockgate.HttpClients;
import dev.dockgate.config.ConsulConfig;
import dev.dockgate.config.ConsulService;
import dev.dockgate.config.DockerConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * The one Consul endpoint the gateway calls, {@code GET /v1/health/service/:service?passing=true}
 * (with {@code dc}, one {@code tag} per required tag, and {@code index} + {@code wait} for a blocking
 * query), on Vert.x core's HttpClient. Sends the token as {@code X-Consul-Token}. Each blocking query
 * holds one pooled connection while it waits.
 */
final class ConsulHealthClient {

  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(ConsulHealthClient.class.getName());

  static final String TOKEN_HEADER = "X-Consul-Token";
  static final String INDEX_HEADER = "X-Consul-Index";
  static final String FILTERED_HEADER = "X-Consul-Results-Filtered-By-ACLs";
  private static final int CONNECT_TIMEOUT_MS = 2_000;
  /** How long a plain read, or a blocking query past its wait (plus Consul's jitter of wait/16), may stay silent. */
  private static final long READ_MARGIN_MS = 10_000;

  /** An answer's index when it came without a usable X-Consul-Index header. */
  static final long NO_INDEX = -1;

  /** What Consul answered: its index ({@link #NO_INDEX}: none), the entries, and whether ACLs hid some of them. */
  record Answer(long index, JsonArray entries, boolean filteredByAcls) {
  }

  /** Consul answered, but not 200: a 403 is an ACL problem ("ACL not found": an unknown token). */
  static final class Refused extends RuntimeException {
    final int status;

    Refused(int status, String body) {
      super(status + " " + body.trim().replaceAll("\\s+", " "), null, false, false);
      this.status = status;
    }
  }

  private final ConsulConfig config;
  /**
   * How long the servers let a blocking query wait at most (their max_query_time) once seen below the wait asked for,
   * in nanoseconds; else none. Shared by every service watched through this client, as the servers are.
   */
  private volatile long queryCapNanos = Long.MAX_VALUE;
  private final HttpClient client;

  ConsulHealthClient(Vertx vertx, ConsulConfig config) {
    this.config = config;
    // One connection per blocking query in flight: the pool must not make a watch wait behind another's.
    this.client = HttpClients.create(vertx, options(config), new PoolOptions().setHttp1MaxSize(1_024), LOG);
  }

  /** Toward an https:// agent: its CA and the client certificate of {@code consul.tls}, the host name verified. */
  static HttpClientOptions options(ConsulConfig config) {
    HttpClientOptions options = new HttpClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS).setKeepAlive(true);
    DockerConfig.Tls tls = config.tls();
    if (tls != null) {
      options.setVerifyHost(true).setTrustOptions(new PemTrustOptions().addCertPath(tls.caFile()));
      if (tls.certFile() != null) {
        options.setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certFile()).setKeyPath(tls.keyFile()));
      }
    }
    return options;
  }

  /**
   * One request: a plain read when {@code index} is 0, else a blocking query waiting up to {@code waitMs}.
   * {@code sent} receives the request, so that a watch that stops can reset it.
   */
  Future<Answer> query(ConsulService service, long index, long waitMs, Consumer<HttpClientRequest> sent) {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET)
        .setAbsoluteURI(config.address().replaceAll("/+$", "") + path(service, index, waitMs))
        .setIdleTimeout(index > 0 ? waitMs + waitMs / 16 + READ_MARGIN_MS : READ_MARGIN_MS);
    if (config.token() != null) {
      options.addHeader(TOKEN_HEADER, config.token());
    }
    return client.request(options)
        .compose(request -> {
          sent.accept(request);
          return request.send();
        })
        .compose(response -> response.body().map(body -> {
          if (response.statusCode() != 200) {
            throw new Refused(response.statusCode(), body.toString(StandardCharsets.UTF_8));
          }
          return new Answer(index(response.getHeader(INDEX_HEADER)), body.toJsonArray(),
              "true".equalsIgnoreCase(response.getHeader(FILTERED_HEADER)));
        }));
  }

  /** The request path and query; the wait is in milliseconds, a duration Consul's parser accepts. */
  String path(ConsulService service, long index, long waitMs) {
    StringBuilder path = new StringBuilder("/v1/health/service/").append(encode(service.service())).append("?passing=true");
    if (config.datacenter() != null) {
      path.append("&dc=").append(encode(config.datacenter()));
    }
    for (String tag : service.tags()) {
      path.append("&tag=").append(encode(tag));
    }
    if (index > 0) {
      path.append("&index=").append(index).append("&wait=").append(waitMs).append("ms");
    }
    return path.toString();
  }

  /** The answer's X-Consul-Index; {@link #NO_INDEX} when it has none, or none that is a number. */
  private static long index(String header) {
    try {
      return header == null ? NO_INDEX : Math.max(0, Long.parseLong(header.trim()));
    } catch (NumberFormatException e) {
      return NO_INDEX;
    }
  }

  private static String encode(String text) {
    return URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20");
  }

  Future<Void> close() {
    return client.close();
  }

  long queryCapNanos() {
    return queryCapNanos;
  }

  /**
   * Records the servers' cap on waits; true when it is news: none known, or lower by more than the servers' own
   * jitter (an eighth), so that services reaching the cap together report it once.
   */
  boolean capSeen(long nanos) {
    long known = queryCapNanos;
    if (nanos >= known) {
      return false;
    }
    queryCapNanos = nanos;
    return known == Long.MAX_VALUE || nanos < known - known / 8;
  }

  /** A query waited past the cap recorded: it was not the servers' limit. True when one was recorded. */
  boolean capDisproved() {
    boolean known = queryCapNanos != Long.MAX_VALUE;
    queryCapNanos = Long.MAX_VALUE;
    return known;
  }
}
