package dev.dockgate.config;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import javax.net.ssl.KeyManager;
import javax.net.ssl.X509KeyManager;

/**
 * Checks the PEM files of {@code server.tls} when the config is loaded, with the parser Vert.x will
 * use for the listener, so that a wrong path, a file without a certificate or key, or a key that
 * belongs to another certificate is reported under its field rather than as a failed listen; and
 * again when changed files are to be served ({@link #serving}). Reads files: called off the event loop.
 */
public final class TlsFiles {

  private TlsFiles() {
  }

  static void check(Fields f, String certFile, String keyFile) {
    pair((field, message) -> f.problem(f.at(field), message), certFile, keyFile);
  }

  /** A certificate chain and its private key, as read and checked: what a listener is given to serve. */
  public record Pair(Buffer cert, Buffer key, X509Certificate leaf) {
  }

  /**
   * Reads and checks the files of {@code server.tls} again, for a listener to serve what was checked (not what the
   * files hold a moment later); fails with every problem, each as {@code server.tls.key_file: problem}. Blocking.
   */
  public static Pair serving(ServerConfig.Tls tls) {
    java.util.List<String> problems = new java.util.ArrayList<>();
    Pair pair = pair((field, message) -> problems.add("server.tls." + field + ": " + message), tls.certFile(), tls.keyFile());
    if (pair == null) {
      throw new ConfigException(problems.isEmpty() ? java.util.List.of("server.tls: no certificate") : problems);
    }
    return pair;
  }

  /** The pair read and checked, or null, each problem given to {@code problem} (field, message). */
  private static Pair pair(Problems problem, String certFile, String keyFile) {
    Buffer cert = certFile == null ? null : read(problem, "cert_file", certFile);
    Buffer key = keyFile == null ? null : read(problem, "key_file", keyFile);
    java.util.List<X509Certificate> chain = cert == null ? null : certificates(problem, "cert_file", certFile, cert, true);
    if (chain == null || key == null) {
      return null; // Vert.x reads a key only together with its certificate
    }
    String encrypted = encrypted(key);
    if (encrypted != null) {
      problem.add("key_file", "\"" + keyFile + "\" is encrypted (" + encrypted
          + "): the gateway reads unencrypted keys only (openssl pkey -in FILE -out PLAIN)");
      return null;
    }
    X509KeyManager manager;
    try {
      manager = keyManager(new PemKeyCertOptions().setKeyValue(key).setCertValue(cert));
    } catch (Exception e) {
      problem.add("key_file", "no usable PEM private key in \"" + keyFile + "\" (" + message(e) + ")");
      return null;
    }
    for (String type : new String[] {"RSA", "EC"}) {
      String[] aliases = manager.getServerAliases(type, null);
      if (aliases != null && aliases.length > 0) {
        X509Certificate[] served = manager.getCertificateChain(aliases[0]);
        if (!belongTogether(manager.getPrivateKey(aliases[0]), served[0].getPublicKey())) {
          problem.add("key_file", "\"" + keyFile + "\" is not the private key of the first certificate in cert_file");
          return null;
        }
        return new Pair(cert, key, served[0]);
      }
    }
    return new Pair(cert, key, chain.get(0));
  }

  /** Where the checks report: the field (cert_file, key_file, ca_file) and the problem. */
  private interface Problems {
    void add(String field, String message);
  }

  /**
   * The files of a TLS client block ({@code ca_file}, {@code cert_file}, {@code key_file}; each may be
   * null): a certificate and its key go together; then unknown keys are reported, then the files checked.
   */
  static void checkClient(Fields f, String ca, String cert, String key) {
    if ((cert == null) != (key == null)) {
      f.problem(f.at(cert == null ? "cert_file" : "key_file"), "is required with " + (cert == null ? "key_file" : "cert_file")
          + " (a client certificate and its key go together)");
    }
    f.rejectUnknown();
    if (ca != null) {
      checkCertificates(f, "ca_file", ca);
    }
    if (cert != null && key != null) {
      check(f, cert, key);
    }
  }

  /** A bundle of trusted certificates (PEM), checked like a certificate chain. */
  static void checkCertificates(Fields f, String field, String file) {
    Problems problem = (key, message) -> f.problem(f.at(key), message);
    Buffer pem = read(problem, field, file);
    if (pem != null) {
      certificates(problem, field, file, pem, false);
    }
  }

  private static Buffer read(Problems problem, String field, String file) {
    try {
      return Buffer.buffer(Fields.readFile(Path.of(file)));
    } catch (IOException | RuntimeException e) {
      problem.add(field, Fields.unreadable(file, e));
    }
    return null;
  }

  /** How a PEM key says it is encrypted, or null: Vert.x reads neither form (and has no passphrase to give). */
  private static String encrypted(Buffer key) {
    String text = key.toString(java.nio.charset.StandardCharsets.US_ASCII);
    if (text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
      return "ENCRYPTED PRIVATE KEY";
    }
    return text.contains("Proc-Type: 4,ENCRYPTED") ? "Proc-Type: 4,ENCRYPTED" : null;
  }


  private static final java.util.regex.Pattern CERTIFICATE = java.util.regex.Pattern.compile(
      "-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\\s]*)-----END CERTIFICATE-----");

  /**
   * At least one PEM block of an X.509 certificate, each one parseable; for a {@code chain} (a certificate and its
   * issuers, not a CA bundle), each one issued by the next, as the key store Vert.x builds requires. Null when not.
   */
  private static java.util.List<X509Certificate> certificates(Problems problem, String field, String file, Buffer pem,
      boolean chain) {
    java.util.regex.Matcher blocks = CERTIFICATE.matcher(pem.toString(java.nio.charset.StandardCharsets.US_ASCII));
    java.util.List<X509Certificate> found = new java.util.ArrayList<>();
    try {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      while (blocks.find()) {
        found.add((X509Certificate) factory.generateCertificate(
            new java.io.ByteArrayInputStream(Base64.getMimeDecoder().decode(blocks.group(1)))));
      }
    } catch (java.security.cert.CertificateException | IllegalArgumentException e) {
      problem.add(field, "no usable PEM certificate in \"" + file + "\" (" + message(e) + ")");
      return null;
    }
    if (found.isEmpty()) {
      problem.add(field, "no PEM certificate (-----BEGIN CERTIFICATE-----) in \"" + file + "\"");
      return null;
    }
    for (int i = 0; chain && i + 1 < found.size(); i++) {
      if (!found.get(i).getIssuerX500Principal().equals(found.get(i + 1).getSubjectX500Principal())) {
        problem.add(field, "the certificates in \"" + file + "\" are not a chain: certificate " + (i + 1) + " ("
            + found.get(i).getSubjectX500Principal().getName() + ") was not issued by certificate " + (i + 2) + " ("
            + found.get(i + 1).getSubjectX500Principal().getName() + "); the server's own certificate comes first, then"
            + " each one's issuer in turn");
        return null;
      }
    }
    return found;
  }

  private static X509KeyManager keyManager(PemKeyCertOptions options) throws Exception {
    for (KeyManager manager : options.getKeyManagerFactory(null).getKeyManagers()) {
      if (manager instanceof X509KeyManager x509) {
        return x509;
      }
    }
    throw new IllegalStateException("no X.509 key manager");
  }

  /** Signs a probe with the private key and verifies it with the certificate's public key. */
  private static boolean belongTogether(PrivateKey privateKey, PublicKey publicKey) {
    if (!privateKey.getAlgorithm().equals(publicKey.getAlgorithm())) {
      return false;
    }
    String algorithm = privateKey.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
    try {
      byte[] probe = "dockgate tls key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(privateKey);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (java.security.GeneralSecurityException e) {
      return false;
    }
  }

  private static String message(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return m.replace('\n', ' ').trim();
  }
}
