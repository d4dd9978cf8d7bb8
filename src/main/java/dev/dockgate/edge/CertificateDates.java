package dev.dockgate.edge;

import dev.dockgate.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.logging.Logger;

/**
 * Says once, when the listener is up or a changed certificate is served ({@link TlsListeners}), that the certificate
 * has expired or is not valid yet: the gateway serves it (as nginx does), every client refuses it, and nothing else
 * would say why. Reads the file through Vert.x's file
 * system (off the event loop); logs from the event loop.
 */
public final class CertificateDates {

  private static final Logger LOG = Logger.getLogger(CertificateDates.class.getName());

  private CertificateDates() {
  }

  public static void check(Vertx vertx, ServerConfig.Tls tls) {
    if (tls != null) {
      // Read and checked when the config was loaded: a failure here has been reported already.
      vertx.fileSystem().readFile(tls.certFile()).onSuccess(pem -> warn(tls.certFile(), pem, Instant.now()));
    }
  }

  static void warn(String file, Buffer pem, Instant now) {
    X509Certificate leaf;
    try {
      leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(pem.getBytes()));
    } catch (CertificateException | RuntimeException e) {
      return; // a form the JDK's reader does not take alone (text before the block): Vert.x's own reader took it
    }
    warn(file, leaf, now);
  }

  /** Says that {@code leaf}, the served certificate from {@code file}, is out of its dates, if it is. */
  static void warn(String file, X509Certificate leaf, Instant now) {
    String which = "server.tls.cert_file: the certificate in \"" + file + "\" ("
        + leaf.getSubjectX500Principal().getName() + ")";
    if (leaf.getNotAfter().toInstant().isBefore(now)) {
      LOG.warning(which + " expired on " + leaf.getNotAfter().toInstant() + ": clients refuse it (replace the files: new ones are served as"
          + " they change)");
    } else if (leaf.getNotBefore().toInstant().isAfter(now)) {
      LOG.warning(which + " is not valid before " + leaf.getNotBefore().toInstant() + ": clients refuse it until then"
          + " (or this host's clock is wrong)");
    }
  }
}
