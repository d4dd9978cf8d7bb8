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
 */
public final class Fields {

  private final String file;
  private final String path;
  private final JsonObject json;
  private final List<String> problems;
  private final Set<String> known = new HashSet<>();

  Fields(String file, String path, JsonObject json, List<String> problems) {
    this.file = file;
    this.path = path;
    this.json = json == null ? new JsonObject() : json;
    this.problems = problems;
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

  public void problem(String field, String message) {
    problems.add(file + ": " + field + ": " + message);
  }

  public boolean has(String key) {
    known.add(key);
    return json.getValue(key) != null;
  }

  public String string(String key, String fallback) {
    known.add(key);
    Object value = json.getValue(key);
    if (value == null) {
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
    if (value == null && json.getValue(key) == null) {
      problem(at(key), "is required");
    } else if (value != null && value.isBlank()) {
      problem(at(key), "must not be empty");
      return null;
    }
    return value;
  }

  public long number(String key, long fallback, long min, long max) {
    known.add(key);
    Object value = json.getValue(key);
    if (value == null) {
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
    Object value = json.getValue(key);
    if (value == null) {
      return fallback;
    }
    if (value instanceof Boolean b) {
      return b;
    }
    problem(at(key), "expected true or false, got " + describe(value));
    return fallback;
  }

  /** A nested object; absent gives an empty one, so defaults apply. */
  public Fields object(String key) {
    known.add(key);
    Object value = json.getValue(key);
    if (value != null && !(value instanceof JsonObject)) {
      problem(at(key), "expected a mapping, got " + describe(value));
      value = null;
    }
    return new Fields(file, at(key), (JsonObject) value, problems);
  }

  /** The elements of a list; absent gives an empty list. */
  public List<Object> list(String key) {
    known.add(key);
    Object value = json.getValue(key);
    if (value == null) {
      return List.of();
    }
    if (!(value instanceof JsonArray array)) {
      problem(at(key), "expected a list, got " + describe(value));
      return List.of();
    }
    return new ArrayList<>(array.getList());
  }

  /** Elements of a list of mappings, each with its own {@code key[i]} path. */
  public List<Fields> objects(String key) {
    List<Object> items = list(key);
    List<Fields> result = new ArrayList<>(items.size());
    for (int i = 0; i < items.size(); i++) {
      Object item = items.get(i);
      String itemPath = at(key) + "[" + i + "]";
      if (item instanceof JsonObject o) {
        result.add(new Fields(file, itemPath, o, problems));
      } else if (item instanceof java.util.Map<?, ?> m) {
        @SuppressWarnings("unchecked")
        JsonObject o = new JsonObject((java.util.Map<String, Object>) m);
        result.add(new Fields(file, itemPath, o, problems));
      } else {
        problem(itemPath, "expected a mapping, got " + describe(item));
      }
    }
    return result;
  }

  public Object raw(String key) {
    known.add(key);
    return json.getValue(key);
  }

  /** Reports every key present but never read. Call once all fields are read. */
  public void rejectUnknown() {
    Set<String> unknown = new TreeSet<>(json.fieldNames());
    unknown.removeAll(known);
    for (String key : unknown) {
      problem(at(key), "unknown key (known: " + String.join(", ", new TreeSet<>(known)) + ")");
    }
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
}
