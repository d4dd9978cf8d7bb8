package dev.dockgate.config;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads API-key lists (a route's {@code auth: {type: api_key}} and the admin listener's
 * {@code api_keys}) and header names. Key files are read here, relative to the config file's
 * folder, so a bad key is a config error naming its field. Runs off the event loop (see ConfigLoader.load).
 */
public final class ApiKeyParser {

  /** An HTTP header name (an RFC 9110 token). */
  public static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

  private ApiKeyParser() {
  }

  public static ApiKeyAuthConfig apiKeys(Fields f) {
    String header = headerName(f, "header", ApiKeyAuthConfig.DEFAULT_HEADER);
    Set<String> names = new HashSet<>();
    List<ApiKeyAuthConfig.Key> keys = keys(f, "keys", names);
    String keysFile = f.string("keys_file", null);
    if (keysFile != null) {
      keysFromFile(f, keysFile, names, keys);
    }
    if (keys.isEmpty() && !f.has("keys") && keysFile == null) {
      f.problem(f.at("keys"), "is required unless keys_file is set: at least one {name, sha256}");
    }
    f.rejectUnknown();
    return new ApiKeyAuthConfig(header, keys, keysFile == null ? null : f.resolve(keysFile).toString());
  }

  /** A list of {name, sha256} API keys: names unique (across {@code names}), digests 64 hex digits (lower-cased). */
  public static List<ApiKeyAuthConfig.Key> keys(Fields f, String listKey, Set<String> names) {
    List<ApiKeyAuthConfig.Key> keys = new ArrayList<>();
    for (Fields k : f.objects(listKey)) {
      String name = k.requiredString("name");
      String digest = k.requiredString("sha256");
      if (name != null && !names.add(name)) {
        k.problem(k.at("name"), "duplicate key name \"" + name + "\"");
      }
      if (digest != null && !digest.matches("[0-9a-fA-F]{64}")) {
        k.problem(k.at("sha256"), "expected 64 hex digits (the SHA-256 of the key, never the key itself)");
        digest = null;
      }
      k.rejectUnknown();
      if (name != null && digest != null) {
        keys.add(new ApiKeyAuthConfig.Key(name, digest.toLowerCase(Locale.ROOT)));
      }
    }
    return keys;
  }

  /**
   * A keys file: one {@code NAME SHA256} per line (blank lines and {@code #} comments skipped), so
   * keys can be managed apart from the routes; problems name the file's line.
   */
  private static void keysFromFile(Fields f, String name, Set<String> names, List<ApiKeyAuthConfig.Key> keys) {
    Path path = f.resolve(name);
    List<String> lines;
    try {
      lines = Fields.readText(path).lines().toList();
    } catch (IOException | RuntimeException e) {
      f.problem(f.at("keys_file"), Fields.unreadable(path, e));
      return;
    }
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] parts = line.split("\\s+");
      String where = f.at("keys_file") + " (" + path.getFileName() + " line " + (i + 1) + ")";
      if (parts.length != 2 || !parts[1].matches("[0-9a-fA-F]{64}")) {
        f.problem(where, "expected NAME SHA256 (64 hex digits)");
      } else if (!names.add(parts[0])) {
        f.problem(where, "duplicate key name \"" + parts[0] + "\"");
      } else {
        keys.add(new ApiKeyAuthConfig.Key(parts[0], parts[1].toLowerCase(Locale.ROOT)));
      }
    }
  }

  public static String headerName(Fields f, String key, String fallback) {
    String name = f.string(key, fallback);
    if (name != null && !HEADER_NAME.matcher(name).matches()) {
      f.problem(f.at(key), "expected a header name, got \"" + name + "\"");
      return fallback;
    }
    return name;
  }
}
