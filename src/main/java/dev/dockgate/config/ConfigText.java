package dev.dockgate.config;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a config file into raw config JSON, bounded whatever the file is: a regular file (a pipe would read empty
 * the second time, {@code /dev/zero} never ends), at most {@link #MAX_BYTES} read (a runaway file is refused, not
 * loaded into memory), strict UTF-8 (an optional byte-order mark;
 * a byte that is not UTF-8 is an error by line and column, never a replacement character), one YAML document in the
 * safe schema ({@link ConfigYaml}: scalars keep their text, no Java or binary tags, a key twice is an error), and
 * anchors whose aliases expand past {@link #MAX_ALIASED_VALUES} values refused. Blocking: a worker thread calls it.
 */
public final class ConfigText {

  /** The largest config file read: some 300,000 routes. */
  public static final int MAX_BYTES = 16 * 1024 * 1024;
  /** Values reached again through YAML aliases, in all: a "billion laughs" file stops here. */
  static final int MAX_ALIASED_VALUES = 100_000;

  private ConfigText() {
  }

  /**
   * The file's top-level mapping. A file with no document (nothing but blanks and comments) is an error, at start as
   * on a reload: {@code routes: []} or {@code {}} says "every default" on purpose.
   */
  public static JsonObject read(String file) {
    return parse(file, text(file, MAX_BYTES));
  }

  /** The file's text, decoded as UTF-8 without its byte-order mark; at most {@code maxBytes} read. */
  public static String text(String file, int maxBytes) {
    Path path = Path.of(file);
    java.nio.file.attribute.BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class);
    } catch (IOException e) {
      throw problem(file, "cannot read config file: " + reason(e));
    }
    if (attributes.isDirectory()) {
      throw problem(file, "cannot read config file: is a directory");
    }
    if (!attributes.isRegularFile()) {
      // A pipe (-conf <(...)) would read empty the second time, which is every default; a device may never end.
      throw problem(file, "cannot read config file: not a regular file (a pipe or a device); the config is read "
          + "again at each change, so it must be a file");
    }
    byte[] bytes;
    try (InputStream in = Files.newInputStream(path)) {
      bytes = in.readNBytes(maxBytes + 1);
    } catch (IOException e) {
      throw problem(file, "cannot read config file: " + reason(e));
    }
    if (bytes.length > maxBytes) {
      throw problem(file, "cannot read config file: larger than " + maxBytes + " bytes");
    }
    return decode(file, bytes);
  }

  /** The reason an I/O failure gives, in the words an operator knows ({@code no such file}, {@code permission denied}). */
  public static String reason(IOException e) {
    if (e instanceof java.nio.file.NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof java.nio.file.AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null) {
      String why = fs.getReason();
      return why.startsWith("Too many levels of symbolic links") ? "a loop of symbolic links" : why;
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().replace('\n', ' ');
  }

  static String decode(String file, byte[] bytes) {
    int start = 0;
    if (bytes.length >= 3 && (bytes[0] & 0xff) == 0xef && (bytes[1] & 0xff) == 0xbb && (bytes[2] & 0xff) == 0xbf) {
      start = 3;
    } else if (bytes.length >= 2 && ((bytes[0] & 0xff) == 0xfe && (bytes[1] & 0xff) == 0xff
        || (bytes[0] & 0xff) == 0xff && (bytes[1] & 0xff) == 0xfe)) {
      throw problem(file, "cannot read config file: UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8");
    }
    CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(bytes, start, bytes.length - start);
    try {
      return decoder.decode(in).toString();
    } catch (MalformedInputException e) {
      throw problem(file, "cannot read config file: not UTF-8 text: " + at(bytes, start, in.position())
          + String.format("byte 0x%02X", bytes[in.position()] & 0xff) + " (save the file as UTF-8)");
    } catch (CharacterCodingException e) {
      throw problem(file, "cannot read config file: not UTF-8 text (save the file as UTF-8)");
    }
  }

  /** {@code line L, column C: } of the byte at {@code offset}, counting characters as UTF-8 text does. */
  private static String at(byte[] bytes, int start, int offset) {
    int line = 1;
    int column = 1;
    for (int i = start; i < offset; i++) {
      if (bytes[i] == '\n') {
        line++;
        column = 1;
      } else if ((bytes[i] & 0xc0) != 0x80) {
        column++;
      }
    }
    return "line " + line + ", column " + column + ": ";
  }

  /** What an empty file's refusal says to write instead. */
  private static final String NO_ROUTES = "; for a gateway with no routes, answering every request with the default"
      + " response, write \"routes: []\"";

  /** Nothing but blank lines and comments ({@code #}, as YAML writes them). */
  static boolean blank(String text) {
    return text.lines().map(String::strip).allMatch(line -> line.isEmpty() || line.startsWith("#"));
  }

  /** The text's top-level mapping (YAML, or JSON for a {@code .json} file); an error when it holds no document. */
  static JsonObject parse(String file, String text) {
    if (blank(text)) {
      // Before parsing: blanks with a tab are blanks, though YAML refuses a tab where a token could start.
      throw problem(file, "the file is empty (nothing but blanks and comments)" + NO_ROUTES);
    }
    boolean json = ConfigLoader.formatOf(file).equals("json");
    Object doc;
    try {
      doc = json ? ConfigLoader.decodeJson(text) : ConfigYaml.load(text, MAX_BYTES);
    } catch (org.yaml.snakeyaml.error.MarkedYAMLException e) {
      throw problem(file, "cannot parse YAML: " + ConfigLoader.yamlProblem(e));
    } catch (org.yaml.snakeyaml.reader.ReaderException e) {
      throw problem(file, "cannot parse YAML: " + ConfigYaml.position(text, e.getPosition())
          + String.format("character U+%04X is not allowed in YAML", e.getCodePoint()));
    } catch (org.yaml.snakeyaml.error.YAMLException e) {
      throw problem(file, "cannot parse YAML: " + ConfigYaml.plain(e.getMessage()));
    } catch (RuntimeException e) {
      // Jackson names the text it was not allowed to show: "[Source: REDACTED (...); line: 1, column: 27]".
      throw problem(file, "cannot parse " + (json ? "JSON" : "YAML") + ": "
          + ConfigLoader.rootMessage(e).replaceAll("Source: REDACTED \\([^)]*\\); ", ""));
    }
    if (doc instanceof JsonObject object) {
      doc = object.getMap(); // Vert.x's JSON parser gives its own types
    }
    if (doc == null) {
      // A wrong mount or a truncated file, far more often than a wish for every default (port 8080, Docker).
      throw problem(file, "the file holds no settings (an empty document)" + NO_ROUTES);
    }
    if (!(doc instanceof Map)) {
      throw problem(file, "expected a mapping at the top level, got " + Fields.describe(doc));
    }
    return new JsonObject(new Copy(file).map((Map<?, ?>) doc, ""));
  }

  /**
   * A copy of the parsed document into JSON's shapes, with string keys. A mapping or list reached again (an alias)
   * is copied again, and every value in such a copy is counted: an alias bomb stops at {@link #MAX_ALIASED_VALUES}.
   */
  private static final class Copy {
    private final String file;
    private final Map<Object, Boolean> seen = new IdentityHashMap<>();
    private int aliased;
    /** Where the alias being copied is. */
    private String alias;

    Copy(String file) {
      this.file = file;
    }

    Map<String, Object> map(Map<?, ?> source, String path) {
      seen.put(source, Boolean.TRUE);
      return entries(source, path, false);
    }

    private Map<String, Object> entries(Map<?, ?> source, String path, boolean viaAlias) {
      Map<String, Object> result = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : source.entrySet()) {
        Object key = e.getKey();
        if (key == null) {
          throw problem(file, (path.isEmpty() ? "" : path + ": ") + "a key is empty or null (~)");
        }
        String name = key instanceof Map || key instanceof List ? Fields.describe(key) : key.toString();
        result.put(name, copy(e.getValue(), path.isEmpty() ? name : path + "." + name, viaAlias));
      }
      return result;
    }

    private Object copy(Object value, String path, boolean viaAlias) {
      if (viaAlias && ++aliased > MAX_ALIASED_VALUES) {
        throw problem(file, alias + ": aliases expand to more than " + MAX_ALIASED_VALUES
            + " values (anchors that repeat one another)");
      }
      boolean again = viaAlias || (value instanceof Map || value instanceof List) && seen.put(value, Boolean.TRUE) != null;
      if (again && !viaAlias) {
        alias = path;
      }
      if (value instanceof JsonObject object) {
        return copy(object.getMap(), path, viaAlias);
      }
      if (value instanceof io.vertx.core.json.JsonArray array) {
        return copy(array.getList(), path, viaAlias);
      }
      if (value instanceof Map<?, ?> map) {
        return entries(map, path, again);
      }
      if (value instanceof List<?> list) {
        List<Object> result = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
          result.add(copy(list.get(i), path + "[" + i + "]", again));
        }
        return result;
      }
      return value;
    }
  }

  private static ConfigException problem(String file, String message) {
    return new ConfigException(List.of(file + ": " + message));
  }
}
