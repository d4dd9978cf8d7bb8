package dev.dockgate.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Fills ${NAME} and ${NAME:-default} references in the config file's string values from the
 * environment, before any value is read; "$${" stands for a literal "${". A variable
 * that is unset (or empty) with no default is a problem at the value's field, never an empty
 * string. Keys are never filled. Runs on the loader's thread.
 */
final class Substitution {

  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  private Substitution() {
  }

  /** A copy of {@code json} with every reference filled; origins and problems go to {@code sources}. */
  static JsonObject apply(JsonObject json, Map<String, String> variables, ValueSources sources) {
    return (JsonObject) walk(json, "", variables, sources);
  }

  private static Object walk(Object value, String path, Map<String, String> variables, ValueSources sources) {
    if (value instanceof JsonObject object) {
      JsonObject copy = new JsonObject();
      object.forEach(e -> copy.put(e.getKey(), walk(e.getValue(), path.isEmpty() ? e.getKey() : path + "." + e.getKey(),
          variables, sources)));
      return copy;
    }
    if (value instanceof JsonArray array) {
      JsonArray copy = new JsonArray();
      for (int i = 0; i < array.size(); i++) {
        copy.add(walk(array.getValue(i), path + "[" + i + "]", variables, sources));
      }
      return copy;
    }
    if (value instanceof String text && text.contains("$")) {
      return fill(text, path, variables, sources);
    }
    return value;
  }

  /** The text with its references filled; unchanged when one cannot be (the problem is recorded). */
  static String fill(String text, String path, Map<String, String> variables, ValueSources sources) {
    StringBuilder out = new StringBuilder(text.length());
    List<String> used = new ArrayList<>();
    int i = 0;
    while (i < text.length()) {
      int dollar = text.indexOf('$', i);
      if (dollar < 0) {
        out.append(text, i, text.length());
        break;
      }
      out.append(text, i, dollar);
      if (text.startsWith("$${", dollar)) {
        out.append("${");
        i = dollar + 3;
        continue;
      }
      if (!text.startsWith("${", dollar)) {
        out.append('$');
        i = dollar + 1;
        continue;
      }
      int end = text.indexOf('}', dollar + 2);
      String inner = end < 0 ? null : text.substring(dollar + 2, end);
      int sep = inner == null ? -1 : inner.indexOf(":-");
      String name = inner == null ? null : sep < 0 ? inner : inner.substring(0, sep);
      if (name == null || !NAME.matcher(name).matches()) {
        sources.unresolved(path, "expected ${NAME} or ${NAME:-default} in \"" + text
            + "\" (NAME: letters, digits, _; $${ for a literal ${)");
        return text;
      }
      if (sep >= 0 && inner.indexOf("${", sep) >= 0) {
        // ${A:-${B}} would end the default at B's "}" and leave a literal "}": refused, not guessed at.
        sources.unresolved(path, "a default cannot hold ${ in any form, in \"" + text
            + "\" (a default ends at the first })");
        return text;
      }
      String value = variables.get(name);
      if (value == null || value.isEmpty()) {
        if (sep < 0) {
          sources.unresolved(path, "environment variable " + name + " is " + (value == null ? "not set" : "empty"));
          return text;
        }
        value = inner.substring(sep + 2);
        used.add("${" + inner + "} with its default (" + name + " " + (variables.containsKey(name) ? "empty" : "not set") + ")");
      } else {
        used.add("${" + inner + "} from environment variable " + name);
      }
      out.append(value);
      i = end + 1;
    }
    if (!used.isEmpty()) {
      sources.filled(path, String.join(", ", used));
    }
    return out.toString();
  }
}
