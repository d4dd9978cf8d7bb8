package dev.dockgate.config;

import java.math.BigInteger;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.AbstractConstruct;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * The YAML the config is written in: one document, the core schema of YAML 1.2 (true/false, null, decimal,
 * 0o octal and 0x hex whole numbers, decimal fractions), so {@code no}, {@code on}, {@code 010}, {@code 1:30} and
 * {@code 2024-01-02} stay the text written; a number keeps its text too ({@link ConfigNumber}), so a string setting
 * given {@code 1.10} gets "1.10". Tags beyond the core ones ({@code !!binary}, {@code !!timestamp}, {@code !!set},
 * Java classes) are errors, as is a key twice in one mapping; anchors, aliases and nesting are bounded by SnakeYAML.
 */
final class ConfigYaml {

  private static final Pattern CORE_BOOL = Pattern.compile("^(?:true|True|TRUE|false|False|FALSE)$");
  private static final Pattern CORE_INT = Pattern.compile("^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$");
  private static final Pattern CORE_FLOAT = Pattern.compile(
      "^(?:[-+]?(?:\\.[0-9]+|[0-9]+(?:\\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN))$");
  private static final Pattern CORE_NULL = Pattern.compile("^(?:~|null|Null|NULL)$");

  private ConfigYaml() {
  }

  /** The document of {@code text} (null when there is none), as Maps, Lists and scalars. */
  static Object load(String text, int maxCodePoints) {
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    options.setCodePointLimit(maxCodePoints);
    options.setAllowRecursiveKeys(false);
    return new Yaml(new Constructor(options), new org.yaml.snakeyaml.representer.Representer(
        new org.yaml.snakeyaml.DumperOptions()), new org.yaml.snakeyaml.DumperOptions(), options, new CoreSchema())
        .load(text);
  }

  /** {@code line L, column C: } of a character offset in {@code text}. */
  static String position(String text, int offset) {
    int line = 1;
    int column = 1;
    for (int i = 0; i < Math.min(offset, text.length()); i++) {
      if (text.charAt(i) == '\n') {
        line++;
        column = 1;
      } else {
        column++;
      }
    }
    return "line " + line + ", column " + column + ": ";
  }

  /** SnakeYAML's limits, in words: "Number of aliases for non-scalar nodes exceeds the specified max=50". */
  static String plain(String message) {
    if (message == null) {
      return "invalid";
    }
    if (message.startsWith("Number of aliases")) {
      return "more than 50 aliases of mappings or lists (anchors that repeat one another)";
    }
    if (message.startsWith("Nesting Depth exceeded")) {
      return "mappings and lists nested more than 50 deep";
    }
    if (message.startsWith("The incoming YAML document exceeds the limit")) {
      return "larger than " + ConfigText.MAX_BYTES + " characters";
    }
    return message.replace('\n', ' ').trim();
  }

  private static final class CoreSchema extends Resolver {
    @Override
    protected void addImplicitResolvers() {
      addImplicitResolver(Tag.BOOL, CORE_BOOL, "tTfF");
      addImplicitResolver(Tag.INT, CORE_INT, "-+0123456789");
      addImplicitResolver(Tag.FLOAT, CORE_FLOAT, "-+0123456789.");
      addImplicitResolver(Tag.MERGE, MERGE, "<");
      addImplicitResolver(Tag.NULL, CORE_NULL, "~nN");
      addImplicitResolver(Tag.NULL, EMPTY, null);
    }
  }

  private static final class Constructor extends SafeConstructor {
    Constructor(LoaderOptions options) {
      super(options);
      yamlConstructors.put(Tag.INT, new Number(false));
      yamlConstructors.put(Tag.FLOAT, new Number(true));
      for (Tag tag : new Tag[] {Tag.BINARY, Tag.TIMESTAMP, Tag.SET, Tag.OMAP, Tag.PAIRS}) {
        yamlConstructors.put(tag, new Refused());
      }
      yamlConstructors.put(null, new Refused()); // any other tag (!foo, !!java.lang.Runtime)
    }

    /** A number keeping its text. */
    private final class Number extends AbstractConstruct {
      private final boolean fraction;

      Number(boolean fraction) {
        this.fraction = fraction;
      }

      @Override
      public Object construct(Node node) {
        String text = constructScalar((ScalarNode) node);
        try {
          return new ConfigNumber(text, fraction ? fraction(text) : whole(text));
        } catch (NumberFormatException e) {
          throw new Refusal("not a " + (fraction ? "number" : "whole number") + ": \""
              + text + "\"", node.getStartMark());
        }
      }
    }

    private final class Refused extends AbstractConstruct {
      @Override
      public Object construct(Node node) {
        throw new Refusal("the tag " + node.getTag() + " is not allowed in the config",
            node.getStartMark());
      }
    }
  }

  /** A value the config cannot hold, by its line and column. */
  private static final class Refusal extends org.yaml.snakeyaml.error.MarkedYAMLException {
    private static final long serialVersionUID = 1L;

    Refusal(String problem, org.yaml.snakeyaml.error.Mark at) {
      super(null, null, problem, at);
    }
  }

  static java.lang.Number whole(String text) {
    String t = text.startsWith("+") ? text.substring(1) : text;
    BigInteger n = t.startsWith("0o") ? new BigInteger(t.substring(2), 8)
        : t.startsWith("0x") ? new BigInteger(t.substring(2), 16) : new BigInteger(t);
    // As SnakeYAML types them: the smallest of Integer, Long, BigInteger.
    return n.bitLength() < 32 ? (java.lang.Number) n.intValue() : n.bitLength() < 64 ? (java.lang.Number) n.longValue() : n;
  }

  static java.lang.Number fraction(String text) {
    String t = text.toLowerCase(java.util.Locale.ROOT);
    if (t.endsWith(".inf")) {
      return t.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    }
    if (t.equals(".nan")) {
      return Double.NaN;
    }
    return Double.parseDouble(t);
  }
}
