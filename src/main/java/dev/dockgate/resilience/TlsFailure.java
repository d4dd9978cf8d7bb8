package dev.dockgate.resilience;

import java.nio.channels.ClosedChannelException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;

/**
 * Why a TLS handshake with an HTTPS instance failed, read from the types in the exception's causes: Vert.x wraps
 * every cause in "Failed to create SSL connection", which alone told the operator nothing. Stateless.
 */
final class TlsFailure {

  /** {@code reason}: a few words for the client; {@code detail}: the library's words; {@code check}: what to look at. */
  record Why(String reason, String detail, String check) {
  }

  private TlsFailure() {
  }

  static Why why(javax.net.ssl.SSLException failure) {
    Throwable deepest = failure;
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof CertificateExpiredException || t instanceof CertificateNotYetValidException) {
        return new Why(t instanceof CertificateExpiredException ? "certificate expired" : "certificate not yet valid",
            text(t), "the instance's certificate and its dates, and this host's clock");
      }
      if (t.getMessage() != null) {
        deepest = t;
      }
    }
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof CertPathBuilderException || t instanceof CertPathValidatorException) {
        // No path to a trusted CA, or one that fails (a CA of the same name that did not sign it, a revoked one).
        return new Why("certificate not trusted", text(t),
            "the backend's tls.ca_file (else the JVM's trust store): the CA that issued the instance's certificate");
      }
      if (t instanceof io.netty.handler.ssl.NotSslRecordException) {
        return new Why("not a TLS server", "what it sent is not a TLS record",
            "the instance's port speaks HTTPS; a plain HTTP instance is an http:// target");
      }
      if (t instanceof ClosedChannelException) {
        return new Why("connection closed during the handshake", "the instance closed the connection",
            "the instance's own log: the TLS protocol versions and ciphers it accepts, a client certificate it asks for");
      }
      if (t.getClass() == CertificateException.class) {
        // The JDK's host name check: the certificate names neither the server_name nor the instance's host.
        return new Why("certificate for another name", text(t),
            "the backend's tls.server_name: the name the instance's certificate carries");
      }
    }
    return new Why("handshake failed", text(deepest),
        "the backend's tls: ca_file, server_name, cert_file, and the instance's TLS settings");
  }

  private static String text(Throwable t) {
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage().replace('\n', ' ').trim();
  }
}
