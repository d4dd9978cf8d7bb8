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

  public static HttpServerOptions apply(HttpServerOptions options, ServerConfig server) {
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
