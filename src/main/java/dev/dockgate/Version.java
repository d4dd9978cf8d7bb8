package dev.dockgate;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * What {@code --version} prints and the first log line names: the gateway's version (the jar
 * manifest's Implementation-Version, which the build sets to the Maven project version), and the
 * Vert.x, Netty and Java it runs on.
 */
final class Version {

  private Version() {
  }

  static String gateway() {
    String version = Version.class.getPackage().getImplementationVersion();
    return version == null ? "(unknown: not run from the jar)" : version;
  }

  /** vertx-core's own record of its version, as its launcher reads it. */
  static String vertx() {
    try (InputStream in = Version.class.getClassLoader().getResourceAsStream("META-INF/vertx/vertx-version.txt")) {
      return in == null ? "(unknown)" : new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      return "(unknown)";
    }
  }

  static String netty() {
    return io.netty.util.Version.identify().values().stream()
        .map(io.netty.util.Version::artifactVersion).findFirst().orElse("(unknown)");
  }

  static String java() {
    return System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + " "
        + System.getProperty("java.vm.version") + ", " + System.getProperty("java.vendor") + ")";
  }

  /** Three lines: dockgate, Vert.x with Netty, Java. */
  static String describe() {
    return "dockgate " + gateway() + "\nVert.x " + vertx() + " (Netty " + netty() + ")\nJava " + java();
  }

  /** One line, for the log. */
  static String oneLine() {
    return "dockgate " + gateway() + " on Vert.x " + vertx() + ", Netty " + netty() + ", Java "
        + System.getProperty("java.version");
  }
}
