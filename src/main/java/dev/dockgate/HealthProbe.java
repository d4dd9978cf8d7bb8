package dev.dockgate;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.logging.Logger;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;

/**
 * The container image's health check: one GET to the gateway's liveness path, exit status 0 for a
 * 2xx answer and 1 otherwise. A separate JVM started by Docker; it needs no shell, curl or wget in
 * the image. The URL is the first argument, else {@code DOCKGATE_HEALTH_URL}, else {@link #DEFAULT_URL};
 * an https:// URL is probed without checking the certificate (the gateway's own, on server.tls).
 */
public final class HealthProbe {

  public static final String DEFAULT_URL = "http://127.0.0.1:8080/health/live";
  public static final String URL_ENV = "DOCKGATE_HEALTH_URL";
  private static final Duration TIMEOUT = Duration.ofSeconds(3);
  private static final Logger LOG = Logger.getLogger(HealthProbe.class.getName());

  private HealthProbe() {
  }

  /** A TLS context that takes any server certificate (made only for an https:// probe). */
  private static SSLContext anyCertificate() {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, io.netty.handler.ssl.util.InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("no TLS in this JVM", e);
    }
  }

  public static void main(String[] args) {
    String env = System.getenv(URL_ENV);
    String url = args.length > 0 ? args[0] : env != null && !env.isBlank() ? env : DEFAULT_URL;
    System.exit(check(URI.create(url), TIMEOUT));
  }

  /** 0 when {@code uri} answers 2xx within {@code timeout} (connect and read each), else 1; logs why. */
  static int check(URI uri, Duration timeout) {
    HttpURLConnection connection = null;
    try {
      connection = (HttpURLConnection) uri.toURL().openConnection();
      if (connection instanceof HttpsURLConnection https) {
        // With server.tls the main port speaks HTTPS only, with a certificate for the public name that
        // the JVM may not trust: the probe asks whether this process answers (as curl -k would), sends
        // nothing secret, and so does not check the certificate.
        https.setSSLSocketFactory(anyCertificate().getSocketFactory());
        https.setHostnameVerifier((host, session) -> true);
      }
      connection.setConnectTimeout((int) timeout.toMillis());
      connection.setReadTimeout((int) timeout.toMillis());
      connection.setInstanceFollowRedirects(false);
      int status = connection.getResponseCode();
      drain(connection, status);
      if (status >= 200 && status < 300) {
        LOG.info(uri + ": " + status);
        return 0;
      }
      LOG.warning(uri + ": " + status);
      return 1;
    } catch (IOException | IllegalArgumentException e) {
      LOG.warning(uri + ": " + e);
      return 1;
    } finally {
      if (connection != null) {
        connection.disconnect();
      }
    }
  }

  private static void drain(HttpURLConnection connection, int status) throws IOException {
    try (InputStream body = status < 400 ? connection.getInputStream() : connection.getErrorStream()) {
      if (body != null) {
        body.readAllBytes();
      }
    }
  }
}
