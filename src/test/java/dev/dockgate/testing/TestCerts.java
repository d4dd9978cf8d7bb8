package dev.dockgate.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Self-signed certificates for TLS tests, made at test time by the JDK's keytool (a PKCS#12 store)
 * and written out as a PEM certificate and a PEM (PKCS#8) private key. The certificate names
 * 127.0.0.1 and localhost, so clients can verify the host while trusting just this certificate.
 */
public final class TestCerts {

  /** The PEM files of one certificate and its key. */
  public record Pem(Path cert, Path key) {
  }

  private static final String PASSWORD = "test-only";

  private TestCerts() {
  }

  /** An EC P-256 certificate and key in {@code dir}, files named after {@code name}. */
  public static Pem selfSigned(Path dir, String name) {
    return selfSigned(dir, name, "EC");
  }

  /** {@code keyAlgorithm}: EC (P-256) or RSA (2048 bits). */
  public static Pem selfSigned(Path dir, String name, String keyAlgorithm) {
    return selfSigned(dir, name, keyAlgorithm, "ip:127.0.0.1,dns:localhost");
  }

  /**
   * An EC P-256 certificate naming only {@code san} (keytool's SAN syntax, e.g. {@code dns:svc.dockgate.test}; the
   * tests name only test names and loopback addresses), as a backend known by a DNS name has: a client checking it
   * against an address fails.
   */
  public static Pem forNames(Path dir, String name, String san) {
    return selfSigned(dir, name, "EC", san);
  }

  /** An RSA certificate that expired yesterday (valid for one day from three days ago), as a careless issuer's. */
  public static Pem expiredRsa(Path dir, String name) {
    return selfSigned(dir, name, "RSA", "dns:" + name, List.of("-startdate", "-3d", "-validity", "1"));
  }

  /** Like {@link #selfSigned(Path, String)}, but valid for one day only, ten days ago. */
  public static Pem expired(Path dir, String name) {
    return selfSigned(dir, name, "EC", "ip:127.0.0.1,dns:localhost", List.of("-startdate", "-10d", "-validity", "1"));
  }

  private static Pem selfSigned(Path dir, String name, String keyAlgorithm, String san) {
    return selfSigned(dir, name, keyAlgorithm, san, List.of("-validity", "2"));
  }

  private static Pem selfSigned(Path dir, String name, String keyAlgorithm, String san, List<String> dates) {
    try {
      Path store = dir.resolve(name + ".p12");
      List<String> args = new java.util.ArrayList<>(List.of("-genkeypair", "-alias", name, "-keyalg", keyAlgorithm,
          "-keysize", keyAlgorithm.equals("EC") ? "256" : "2048"));
      args.addAll(dates);
      args.addAll(List.of(
          "-dname", san.startsWith("ip:127.0.0.1,") ? "CN=localhost" : "CN=" + name, "-ext", "SAN=" + san,
          "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD));
      keytool(args);
      KeyStore keyStore = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(store)) {
        keyStore.load(in, PASSWORD.toCharArray());
      }
      PrivateKey key = (PrivateKey) keyStore.getKey(name, PASSWORD.toCharArray());
      Pem pem = new Pem(dir.resolve(name + "-cert.pem"), dir.resolve(name + "-key.pem"));
      Files.writeString(pem.cert(), pem("CERTIFICATE", keyStore.getCertificate(name).getEncoded()));
      Files.writeString(pem.key(), pem("PRIVATE KEY", key.getEncoded()));
      return pem;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot make a test certificate", e);
    }
  }

  /**
   * {@code pem}'s key encrypted with a passphrase (PKCS#8, PBES2 with AES-256), as {@code openssl pkcs8 -topk8}
   * writes it: an ENCRYPTED PRIVATE KEY block.
   */
  public static Path encryptedKey(Pem pem, Path file) {
    try {
      String text = Files.readString(pem.key()).replaceAll("-----[A-Z ]+-----|\\s", "");
      byte[] der = Base64.getDecoder().decode(text);
      String algorithm = "PBEWithHmacSHA256AndAES_256";
      javax.crypto.SecretKey secret = javax.crypto.SecretKeyFactory.getInstance(algorithm)
          .generateSecret(new javax.crypto.spec.PBEKeySpec(PASSWORD.toCharArray()));
      javax.crypto.Cipher cipher = javax.crypto.Cipher.getInstance(algorithm);
      cipher.init(javax.crypto.Cipher.ENCRYPT_MODE, secret, new javax.crypto.spec.PBEParameterSpec(new byte[16], 10_000,
          new javax.crypto.spec.IvParameterSpec(new byte[16])));
      // Named PBES2, as openssl names it (the JDK cannot write its own name for these parameters).
      java.security.AlgorithmParameters pbes2 = java.security.AlgorithmParameters.getInstance("PBES2");
      pbes2.init(cipher.getParameters().getEncoded());
      byte[] encrypted = new javax.crypto.EncryptedPrivateKeyInfo(pbes2, cipher.doFinal(der)).getEncoded();
      Files.writeString(file, pem("ENCRYPTED PRIVATE KEY", encrypted));
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot encrypt a test key", e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static void keytool(List<String> args) throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(args);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IOException("keytool failed: " + output);
    }
  }
}
