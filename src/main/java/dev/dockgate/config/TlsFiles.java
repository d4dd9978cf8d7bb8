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
 * belongs to another certificate is reported under its field rather than as a failed listen.
 * Reads files: the loader calls it off the event loop.
 */
final class TlsFiles {

  private TlsFiles() {
  }

  static void check(Fields f, String certFile, String keyFile) {
    Buffer cert = certFile == null ? null : read(f, "cert_file", certFile);
    Buffer key = keyFile == null ? null : read(f, "key_file", keyFile);
    if (cert == null || !certificates(f, "cert_file", certFile, cert, true) || key == null) {
      return; // Vert.x reads a key only together with its certificate
    }
    String encrypted = encrypted(key);
    if (encrypted != null) {
      f.problem(f.at("key_file"), "\"" + keyFile + "\" is encrypted (" + encrypted
          + "): the gateway reads unencrypted keys only (openssl pkey -in FILE -out PLAIN)");
      return;
    }
    X509KeyManager manager;
    try {
      manager = keyManager(new PemKeyCertOptions().setKeyValue(key).setCertValue(cert));
    } catch (Exception e) {
      f.problem(f.at("key_file"), "no usable PEM private key in \"" + keyFile + "\" (" + message(e) + ")");
      return;
    }
    for (String type : new String[] {"RSA", "EC"}) {
      String[] aliases = manager.getServerAliases(type, null);
      if (aliases != null && aliases.length > 0) {
        X509Certificate[] chain = manager.getCertificateChain(aliases[0]);
        if (!belongTogether(manager.getPrivateKey(aliases[0]), chain[0].getPublicKey())) {
          f.problem(f.at("key_file"), "\"" + keyFile + "\" is not the private key of the first certificate in cert_file");
        }
        return;
      }
    }
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
    Buffer pem = read(f, field, file);
    if (pem != null) {
      certificates(f, field, file, pem, false);
    }
  }

  private static Buffer read(Fields f, String field, String file) {
    try {
      return Buffer.buffer(Fields.readFile(Path.of(file)));
    } catch (IOException | RuntimeException e) {
      f.problem(f.at(field), Fields.unreadable(file, e));
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
   * issuers, not a CA bundle), each one issued by the next, as the key store Vert.x builds requires.
   */
  private static boolean certificates(Fields f, String field, String file, Buffer pem, boolean chain) {
    java.util.regex.Matcher blocks = CERTIFICATE.matcher(pem.toString(java.nio.charset.StandardCharsets.US_ASCII));
    java.util.List<X509Certificate> found = new java.util.ArrayList<>();
    try {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      while (blocks.find()) {
        found.add((X509Certificate) factory.generateCertificate(
            new java.io.ByteArrayInputStream(Base64.getMimeDecoder().decode(blocks.group(1)))));
      }
    } catch (java.security.cert.CertificateException | IllegalArgumentException e) {
      f.problem(f.at(field), "no usable PEM certificate in \"" + file + "\" (" + message(e) + ")");
      return false;
    }
    if (found.isEmpty()) {
      f.problem(f.at(field), "no PEM certificate (-----BEGIN CERTIFICATE-----) in \"" + file + "\"");
      return false;
    }
    for (int i = 0; chain && i + 1 < found.size(); i++) {
      if (!found.get(i).getIssuerX500Principal().equals(found.get(i + 1).getSubjectX500Principal())) {
        f.problem(f.at(field), "the certificates in \"" + file + "\" are not a chain: certificate " + (i + 1) + " ("
            + found.get(i).getSubjectX500Principal().getName() + ") was not issued by certificate " + (i + 2) + " ("
            + found.get(i + 1).getSubjectX500Principal().getName() + "); the server's own certificate comes first, then"
            + " each one's issuer in turn");
        return false;
      }
    }
    return true;
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
