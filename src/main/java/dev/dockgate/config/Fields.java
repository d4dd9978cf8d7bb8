package dev.dockgate.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Typed reads from one JSON object of the config, remembering which keys were read so the
 * rest can be reported as unknown. Problems go to a shared list as {@code file: path: problem}.
 * Each key read is first looked up among the load's overrides ({@link ValueSources}); a value that
 * came from the environment as text is typed as the read asks (a number, true or false, a
 * comma-separated list).
 */
public final class Fields {

  private final String file;
  private final String path;
  private final JsonObject json;
  private final List<String> problems;
  private final Set<String> known = new HashSet<>();
  private final ValueSources sources;

  Fields(String file, String path, JsonObject json, List<String> problems, ValueSources sources) {
    this.file = file;
    this.path = path;
    this.json = json == null ? new JsonObject() : json;
    this.problems = problems;
    this.sources = sources;
    sources.register(this);
  }

  /** The keys read so far. */
  Set<String> knownKeys() {
    return known;
  }

  /** The key's value: its override if one is set, else the file's (with ${...} filled). */
  private Object value(String key) {
    Object override = sources.override(at(key));
    return override != null ? override : json.getValue(key);
  }

  /**
   * True, with the problem reported, when the file writes {@code key} with no value ({@code port:}, {@code port: ~},
   * JSON {@code null}) and nothing overrides it: for a setting with a default that is an error, not the default
   * taken silently (a value lost in an edit, or written on the wrong line). {@code expected}: what to write instead.
   */
  private boolean writtenEmpty(String key, Object value, String expected) {
    if (value != null || !json.containsKey(key)) {
      return false;
    }
    problem(at(key), "has no value; write " + expected + ", or leave the key out for the default");
    return true;
  }

  /** True when the key's value came from the environment or a system property, as text. */
  private boolean fromOutside(String key, Object value) {
    return value instanceof String && sources.fromOutside(at(key));
  }

  /** This object's own path, e.g. {@code routes[0].auth.keys[1]}. */
  public String path() {
    return path;
  }

  /** A file named in the config: absolute, or relative to the config file's folder. */
  public java.nio.file.Path resolve(String name) {
    java.nio.file.Path parent = java.nio.file.Path.of(file).toAbsolutePath().getParent();
    return parent == null ? java.nio.file.Path.of(name) : parent.resolve(name);
  }

  public String at(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  /** Reports a problem; one at a value whose ${...} could not be filled is already reported. */
  public void problem(String field, String message) {
    if (sources.failedToFill(field)) {
      return;
    }
    String origin = sources.originOf(field);
    problems.add(file + ": " + field + ": " + message + (origin == null ? "" : " [" + origin + "]"));
  }

  /** True when a DOCKGATE_ variable or dockgate. property sets a key inside the mapping at {@code key}. */
  public boolean overridesInside(String key) {
    return sources.overridesInside(at(key));
  }

  /** The first override setting a key inside the mapping at {@code key} ("environment variable NAME"), or null. */
  public String overrideInside(String key) {
    return sources.firstInside(at(key));
  }

  /** True when the value at {@code key} is not as the file has it: overridden, or filled from the environment. */
  public boolean fromOutside(String key) {
    return sources.fromOutside(at(key));
  }

  /** True when the key has a value, or overrides set keys inside it. */
  public boolean has(String key) {
    known.add(key);
    return value(key) != null || sources.overridesInside(at(key));
  }

  /** A text setting; null {@code fallback}: none by default, which an empty value ({@code key: ~}) writes too. */
  public String string(String key, String fallback) {
    known.add(key);
    Object value = value(key);
    if (value == null) {
      if (fallback != null) {
        writtenEmpty(key, null, "a text");
      }
      return fallback;
    }
    if (value instanceof String || value instanceof Number || value instanceof Boolean) {
      return value.toString();
    }
    problem(at(key), "expected a string, got " + describe(value));
    return fallback;
  }

  public String requiredString(String key) {
    String value = string(key, null);
    if (value == null && value(key) == null) {
      problem(at(key), "is required");
    } else if (value != null && value.isBlank()) {
      problem(at(key), "must not be empty");
      return null;
    }
    return value;
  }

  public long number(String key, long fallback, long min, long max) {
    known.add(key);
    Object value = value(key);
    if (value == null) {
      writtenEmpty(key, null, "a number");
      return fallback;
    }
    long n;
    if (value instanceof Number num && num.doubleValue() == Math.rint(num.doubleValue())) {
      double d = num.doubleValue();
      if (d < min || d > max) {
        problem(at(key), "must be between " + min + " and " + max + ", got " + value);
        return fallback;
      }
      n = num.longValue();
    } else if (value instanceof String s && s.trim().matches("-?\\d+")) {
      n = Long.parseLong(s.trim());
    } else {
      problem(at(key), "expected a whole number, got " + describe(value));
      return fallback;
    }
    if (n < min || n > max) {
      problem(at(key), "must be between " + min + " and " + max + ", got " + n);
      return fallback;
    }
    return n;
  }

  public boolean bool(String key, boolean fallback) {
    known.add(key);
    Object value = value(key);
    if (value == null) {
      writtenEmpty(key, null, "true or false");
      return fallback;
    }
    if (value instanceof Boolean b) {
      return b;
    }
    Boolean text = fromOutside(key, value) ? truth((String) value) : null;
    if (text != null) {
      return text;
    }
    problem(at(key), "expected true or false, got " + describe(value));
    return fallback;
  }

  /** A nested object; absent gives an empty one, so defaults apply. */
  public Fields object(String key) {
    known.add(key);
    Object value = value(key);
    if (Boolean.FALSE.equals(value) && overridesInside(key)) {
      value = new JsonObject(); // a block the file turned off (admin_listener: false) that an override sets a key in
    }
    if (value == null && !overridesInside(key)) {
      writtenEmpty(key, null, "a mapping ({} for every default)");
    }
    if (value != null && !(value instanceof JsonObject)) {
      problem(at(key), "expected a mapping, got " + describe(value));
      value = null;
    }
    return new Fields(file, at(key), (JsonObject) value, problems, sources);
  }

  /** The elements of a list; absent gives an empty list. */
  public List<Object> list(String key) {
    known.add(key);
    Object value = value(key);
    if (value == null) {
      writtenEmpty(key, null, "a list ([] for none)");
      return List.of();
    }
    if (fromOutside(key, value)) {
      // From the environment a list is written a,b,c.
      List<Object> items = new ArrayList<>();
      for (String item : ((String) value).split(",")) {
        if (!item.isBlank()) {
          items.add(item.trim());
        }
      }
      return items;
    }
    if (!(value instanceof JsonArray array)) {
      problem(at(key), "expected a list, got " + describe(value));
      return List.of();
    }
    return new ArrayList<>(array.getList());
  }

  /** Elements of a list of mappings, each with its own {@code key[i]} path. */
  public List<Fields> objects(String key) {
    return objects(key, null);
  }

  /** As {@link #objects(String)}, where a plain string item stands for the mapping {@code {stringKey: item}}. */
  public List<Fields> objects(String key, String stringKey) {
    List<Object> items = list(key);
    List<Fields> result = new ArrayList<>(items.size());
    for (int i = 0; i < items.size(); i++) {
      Object item = items.get(i);
      String itemPath = at(key) + "[" + i + "]";
      if (item instanceof JsonObject o) {
        result.add(new Fields(file, itemPath, o, problems, sources));
      } else if (stringKey != null && item instanceof String text) {
        result.add(new Fields(file, itemPath, new JsonObject().put(stringKey, text), problems, sources));
      } else if (item instanceof java.util.Map<?, ?> m) {
        @SuppressWarnings("unchecked")
        JsonObject o = new JsonObject((java.util.Map<String, Object>) m);
        result.add(new Fields(file, itemPath, o, problems, sources));
      } else {
        problem(itemPath, "expected a mapping" + (stringKey == null ? "" : " or a " + stringKey + " string") + ", got "
            + describe(item));
      }
    }
    return result;
  }

  /**
   * The value as it is, for settings of several types (a number as Long, BigInteger or Double). Text from the
   * environment that reads as true, false or a number is taken as one, as YAML would.
   */
  public Object raw(String key) {
    known.add(key);
    Object value = value(key);
    if (!fromOutside(key, value)) {
      return value instanceof ConfigNumber n ? n.value() : value;
    }
    String text = ((String) value).trim();
    Boolean truth = truth(text);
    if (truth != null) {
      return truth;
    }
    if (text.matches("-?\\d{1,18}")) {
      return Long.parseLong(text);
    }
    if (text.matches("-?\\d+\\.\\d+")) {
      return Double.parseDouble(text);
    }
    return value;
  }

  private static Boolean truth(String text) {
    String t = text.trim();
    return t.equalsIgnoreCase("true") ? Boolean.TRUE : t.equalsIgnoreCase("false") ? Boolean.FALSE : null;
  }

  /** Reports every key present but never read. Call once all fields are read. */
  public void rejectUnknown() {
    Set<String> unknown = new TreeSet<>(json.fieldNames());
    unknown.removeAll(known);
    for (String key : unknown) {
      String near = nearest(key, known);
      problem(at(key), "unknown key" + (near == null ? "" : ", did you mean \"" + near + "\"?") + " (known: "
          + String.join(", ", new TreeSet<>(known)) + ")");
    }
  }

  /**
   * The known key a typo of {@code key} most likely meant (a few edits away, case aside; or the key with its unit,
   * timeout for timeout_ms), or null.
   */
  static String nearest(String key, java.util.Collection<String> known) {
    String best = null;
    int bestDistance = Math.min(3, Math.max(1, key.length() / 2));
    for (String candidate : new TreeSet<>(known)) {
      int d = distance(key.toLowerCase(java.util.Locale.ROOT), candidate.toLowerCase(java.util.Locale.ROOT));
      if (d < bestDistance || d == 0) {
        best = candidate;
        bestDistance = d;
      }
    }
    if (best == null) {
      for (String candidate : new TreeSet<>(known)) {
        if (candidate.startsWith(key + "_") && candidate.indexOf('_', key.length() + 1) < 0) {
          return candidate;
        }
      }
    }
    return best;
  }

  /** Edits (insert, delete, replace, swap of neighbours) from {@code a} to {@code b}. */
  private static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length()][b.length()];
  }

  public static String describe(Object value) {
    // List elements straight from the parsers are still plain Maps and Lists.
    if (value instanceof JsonObject || value instanceof java.util.Map) {
      return "a mapping";
    }
    if (value instanceof JsonArray || value instanceof java.util.List) {
      return "a list";
    }
    if (value instanceof String s) {
      return "\"" + s + "\"";
    }
    return String.valueOf(value);
  }

  /** The most a file a setting names (a certificate, a key, a secret, a keys file) may hold: more is not such a file. */
  static final long MAX_FILE_BYTES = 16 << 20;

  /**
   * A file a setting names, read whole. A device ({@code /dev/zero}) or a named pipe is refused rather than read
   * forever or until the heap runs out, and so is a file over {@link #MAX_FILE_BYTES}: the exception says which, for
   * {@link #unreadable}. Blocking: off the event loop, as the loader is.
   */
  public static byte[] readFile(java.nio.file.Path path) throws java.io.IOException {
    if (java.nio.file.Files.exists(path) && !java.nio.file.Files.isDirectory(path)
        && !java.nio.file.Files.isRegularFile(path)) {
      throw new java.io.IOException("not a regular file");
    }
    if (java.nio.file.Files.isRegularFile(path) && java.nio.file.Files.size(path) > MAX_FILE_BYTES) {
      throw new java.io.IOException("larger than " + (MAX_FILE_BYTES >> 20) + " MiB");
    }
    return java.nio.file.Files.readAllBytes(path);
  }

  /** {@link #readFile} as UTF-8 text; bytes that are not UTF-8 throw a CharacterCodingException. */
  public static String readText(java.nio.file.Path path) throws java.io.IOException {
    return java.nio.charset.StandardCharsets.UTF_8.newDecoder()
        .decode(java.nio.ByteBuffer.wrap(readFile(path))).toString();
  }

  /**
   * The problem for a file a setting names that could not be read, worded alike for every such setting:
   * {@code cannot read "FILE": no such file} (or permission denied, not UTF-8 text, the system's reason).
   */
  public static String unreadable(Object file, Exception e) {
    String why;
    if (e instanceof java.nio.file.NoSuchFileException) {
      why = "no such file";
    } else if (e instanceof java.nio.file.AccessDeniedException) {
      why = "permission denied";
    } else if (e instanceof java.nio.charset.CharacterCodingException) {
      why = "not UTF-8 text";
    } else {
      Throwable root = e;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      why = (root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage()).replace('\n', ' ').trim();
    }
    return "cannot read \"" + file + "\": " + why;
  }
}
