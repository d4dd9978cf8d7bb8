package dev.dockgate.edge;

import dev.dockgate.config.ServerConfig;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PemKeyCertOptions;
import java.util.List;

/**
 * What the main listener speaks: TLS from the PEM files with HTTP/2 offered through ALPN (HTTP/1.1
 * for clients that do not ask for h2), or plain HTTP/1.1 with cleartext HTTP/2 (h2c, by upgrade or
 * prior knowledge) only when enabled. Stateless.
 */
public final class Protocols {

  private Protocols() {
  }

  /**
   * Whether a request is a gRPC call: its content type is {@code application/grpc}, alone or with a suffix
   * ({@code +proto}, {@code +json}), in any case (gRPC over HTTP/2's Content-Type rule).
   */
  public static boolean grpc(io.vertx.core.http.HttpServerRequest request) {
    String type = request.getHeader(io.vertx.core.http.HttpHeaders.CONTENT_TYPE);
    return type != null && type.regionMatches(true, 0, "application/grpc", 0, 16)
        && (type.length() == 16 || type.charAt(16) == '+' || type.charAt(16) == ';');
  }

  /** The JDK's switch refusing a client's TLS 1.2 renegotiation, read once, at the process's first TLS handshake. */
  static final String REFUSE_RENEGOTIATION = "jdk.tls.rejectClientInitiatedRenegotiation";

  /**
   * Refuses client-initiated renegotiation (TLS 1.2; TLS 1.3 has none), unless the operator set the switch: each one
   * costs the server a full handshake for a client's few bytes (THC-SSL-DOS, CVE-2011-1473), and nginx, HAProxy and
   * Envoy refuse it too; the JDK accepts it by default. Idempotent; called at start, before any handshake.
   */
  public static void refuseRenegotiation() {
    if (System.getProperty(REFUSE_RENEGOTIATION) == null) {
      System.setProperty(REFUSE_RENEGOTIATION, "true");
    }
  }

  /** The JDK's list of TLS extensions its servers ignore, read once, at the process's first TLS use. */
  static final String SERVER_DISABLED_EXTENSIONS = "jdk.tls.server.disableExtensions";

  /**
   * Has the JDK's TLS servers ignore the server name a client sends (SNI), unless the operator set the switch: the
   * listeners serve their one certificate whatever the name, and the JDK refuses a name that is not a valid host name
   * (a fully qualified one with its trailing dot, {@code localhost.}; a label starting with {@code -}) with an
   * illegal_parameter alert, where nginx ignores it. Called by the process's main, before any TLS use; not by an
   * embedded gateway, whose JVM's other TLS servers may want the names.
   */
  public static void ignoreServerNames() {
    if (System.getProperty(SERVER_DISABLED_EXTENSIONS) == null) {
      System.setProperty(SERVER_DISABLED_EXTENSIONS, "server_name");
    }
  }

  public static HttpServerOptions apply(HttpServerOptions options, ServerConfig server) {
    refuseRenegotiation(); // a gateway started without main() (embedded, tests) too
    // HTTP/2 has no header-block limit of HTTP/1.1's kind: announce the same size as its header list limit.
    options.setInitialSettings(new Http2Settings(options.getInitialSettings())
        .setMaxHeaderListSize(server.limits().maxHeaderBytes()));
    ServerConfig.Tls tls = server.tls();
    if (tls == null) {
      // Vert.x accepts h2c by default; it stays off unless asked for.
      return options.setHttp2ClearTextEnabled(server.h2c());
    }
    return options
        .setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certFile()).setKeyPath(tls.keyFile()))
        .setUseAlpn(server.http2())
        .setAlpnVersions(server.http2() ? List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1) : List.of(HttpVersion.HTTP_1_1))
        .setHttp2ClearTextEnabled(false);
  }
}
