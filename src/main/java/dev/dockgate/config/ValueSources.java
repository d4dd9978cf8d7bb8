package dev.dockgate.config;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One load's values that are not as written in the file, and where each came from: overrides by
 * system property ({@code dockgate.server.port}) over environment variable
 * ({@code DOCKGATE_SERVER_PORT}) over the file, and the {@code ${NAME}} references the file's values
 * were filled from. {@link Fields} asks it for every key it reads, so an override's name follows
 * from the setting's path and never has to be split at its underscores. One per load, on the
 * loader's thread.
 */
final class ValueSources {

  static final String VARIABLE_PREFIX = "DOCKGATE_";
  static final String PROPERTY_PREFIX = "dockgate.";

  private final String file;
  /** DOCKGATE_... name to value. */
  private final TreeMap<String, String> variables = new TreeMap<>();
  /** Path key (server.port, routes.0.backend) to value, and to the property's name as given. */
  private final TreeMap<String, String> properties = new TreeMap<>();
  private final Map<String, String> propertyNames = new HashMap<>();
  private final Set<String> usedVariables = new HashSet<>();
  private final Set<String> usedProperties = new HashSet<>();
  private final Set<String> overridden = new HashSet<>();
  private final Map<String, String> origins = new LinkedHashMap<>();
  /** Paths whose ${...} could not be filled, with the problem, reported unless an override replaces the value. */
  private final Map<String, String> unresolved = new LinkedHashMap<>();
  private final Map<String, Fields> objects = new HashMap<>();

  ValueSources(String file, ConfigEnvironment environment) {
    this.file = file;
    environment.variables().forEach((name, value) -> {
      if (name.startsWith(VARIABLE_PREFIX)) {
        variables.put(name, value);
      }
    });
    environment.properties().forEach((name, value) -> {
      if (name.startsWith(PROPERTY_PREFIX) && name.length() > PROPERTY_PREFIX.length()) {
        String key = propertyKey(name.substring(PROPERTY_PREFIX.length()));
        properties.put(key, value);
        propertyNames.put(key, name);
      }
    });
  }

  /** {@code routes[0].backend} as a property key: {@code routes.0.backend}. */
  static String propertyKey(String path) {
    return path.replace("[", ".").replace("]", "");
  }

  /** The environment variable that overrides a setting: {@code routes[0].timeout_ms} is DOCKGATE_ROUTES_0_TIMEOUT_MS. */
  static String variableName(String path) {
    StringBuilder name = new StringBuilder(VARIABLE_PREFIX.length() + path.length()).append(VARIABLE_PREFIX);
    boolean run = false;
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c >= 0x80) {
        return slowVariableName(path); // upper-casing may change the length (ß is SS): the general rule
      }
      if (c >= 'a' && c <= 'z') {
        c = (char) (c - ('a' - 'A'));
      }
      if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        name.append(c);
        run = false;
      } else if (!run) {
        name.append('_');
        run = true;
      }
    }
    if (run) {
      name.setLength(name.length() - 1);
    }
    return name.toString();
  }

  /** {@link #variableName} by its definition: upper-cased, every run of other characters one _, none at the end. */
  static String slowVariableName(String path) {
    String upper = path.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]+", "_");
    return VARIABLE_PREFIX + (upper.endsWith("_") ? upper.substring(0, upper.length() - 1) : upper);
  }

  /** The system property that overrides a setting: {@code dockgate.server.port}. */
  static String propertyName(String path) {
    return PROPERTY_PREFIX + propertyKey(path);
  }

  void register(Fields object) {
    objects.put(object.path(), object);
  }

  /**
   * The override of the setting at {@code path} (a string, as the environment gives it), or null;
   * a system property wins over an environment variable.
   */
  String override(String path) {
    if (properties.isEmpty() && variables.isEmpty()) {
      return null; // the common case, asked for every key of every route: no name built
    }
    String key = propertyKey(path);
    String name = variableName(path);
    String property = properties.get(key);
    String variable = variables.get(name);
    if (property == null && variable == null) {
      return null;
    }
    if (variable != null) {
      usedVariables.add(name);
    }
    if (property != null) {
      usedProperties.add(key);
      origins.put(path, "system property " + propertyNames.get(key)
          + (variable != null ? " (over environment variable " + name + ")" : ""));
    } else {
      origins.put(path, "environment variable " + name);
    }
    overridden.add(path);
    return property != null ? property : variable;
  }

  /** True when some override sets a key inside the mapping at {@code path}, which then counts as present. */
  boolean overridesInside(String path) {
    return !inside(path, false).isEmpty();
  }

  /**
   * The first override that sets a key inside the mapping at {@code path}, as "environment variable NAME" or
   * "system property name" (taken as used: it is reported with the mapping's problem, not as unknown), or null.
   */
  String firstInside(String path) {
    List<String> found = inside(path, true);
    return found.isEmpty() ? null : found.get(0);
  }

  /** The overrides setting keys inside the mapping at {@code path}, properties first; {@code use}: marked used. */
  private List<String> inside(String path, boolean use) {
    if (properties.isEmpty() && variables.isEmpty()) {
      return List.of();
    }
    String key = propertyKey(path) + ".";
    String name = variableName(path) + "_";
    List<String> found = new ArrayList<>();
    // Sorted maps: the names starting with the prefix come together, from the prefix on.
    for (String property : properties.tailMap(key).keySet()) {
      if (!property.startsWith(key)) {
        break;
      }
      found.add("system property " + propertyNames.get(property));
      if (use) {
        usedProperties.add(property);
      }
    }
    for (String variable : variables.tailMap(name).keySet()) {
      if (!variable.startsWith(name)) {
        break;
      }
      found.add("environment variable " + variable);
      if (use) {
        usedVariables.add(variable);
      }
    }
    return found;
  }

  void filled(String path, String origin) {
    origins.put(path, origin);
  }

  void unresolved(String path, String problem) {
    unresolved.putIfAbsent(path, problem);
  }

  /** True when the value at {@code path} is not the file's text: filled from the environment or overridden. */
  boolean fromOutside(String path) {
    return origins.containsKey(path);
  }

  /** Where the value at {@code field}, or the value it is part of, came from; null: as written in the file. */
  String originOf(String field) {
    for (String p = field; !p.isEmpty(); p = parent(p)) {
      String origin = origins.get(p);
      if (origin != null) {
        return origin;
      }
    }
    return null;
  }

  /** True when a problem at {@code field} follows from a ${...} already reported there. */
  boolean failedToFill(String field) {
    for (String p = field; !p.isEmpty(); p = parent(p)) {
      if (unresolved.containsKey(p) && !overridden.contains(p)) {
        return true;
      }
    }
    return false;
  }

  private static String parent(String path) {
    int cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    return cut < 0 ? "" : path.substring(0, cut);
  }

  /** Every value from outside the file text, by path, in the order met. */
  Map<String, String> origins() {
    return new LinkedHashMap<>(origins);
  }

  /**
   * The problems left at the end of a load: references that could not be filled (unless overridden),
   * and overrides that set nothing. DOCKGATE_ variables count only when they start with a top-level
   * key of the config (DOCKGATE_SERVER_..., DOCKGATE_ROUTES_...): others, such as DOCKGATE_HEALTH_URL,
   * belong to other tools. Every dockgate. system property counts.
   */
  List<String> remainingProblems(Fields root) {
    List<String> problems = new ArrayList<>();
    unresolved.forEach((path, problem) -> {
      if (!overridden.contains(path)) {
        problems.add(file + ": " + path + ": " + problem);
      }
    });
    Set<String> sections = new TreeSet<>();
    root.knownKeys().forEach(k -> sections.add(variableName(k) + "_"));
    for (String name : variables.keySet()) {
      if (!usedVariables.contains(name) && sections.stream().anyMatch(name::startsWith)) {
        problems.add(file + ": " + name + " (environment variable): " + noSetting(name, true));
      }
    }
    for (String key : properties.keySet()) {
      if (!usedProperties.contains(key)) {
        problems.add(file + ": " + propertyNames.get(key) + " (system property): " + noSetting(key, false));
      }
    }
    return problems;
  }

  /** Names the settings of the deepest mapping the override's name starts with. */
  private String noSetting(String name, boolean variable) {
    Fields deepest = null;
    int longest = 0;
    for (Fields object : objects.values()) {
      if (object.path().isEmpty()) {
        continue;
      }
      String prefix = variable ? variableName(object.path()) + "_" : propertyKey(object.path()) + ".";
      if (name.startsWith(prefix) && prefix.length() > longest) {
        deepest = object;
        longest = prefix.length();
      }
    }
    String how = variable
        ? "names are DOCKGATE_ and the setting's path in capitals, with _ for . and [ ] (server.port: DOCKGATE_SERVER_PORT)"
        : "names are dockgate. and the setting's path (dockgate.server.port, dockgate.routes.0.timeout_ms)";
    return deepest == null
        ? "matches no setting; " + how
        : "matches no setting; settings in " + deepest.path() + ": " + String.join(", ", new TreeSet<>(deepest.knownKeys()));
  }
}
