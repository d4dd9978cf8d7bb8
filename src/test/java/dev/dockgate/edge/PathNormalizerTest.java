package dev.dockgate.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PathNormalizerTest {

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(nullValues = "REFUSED", value = {
      "/, /",
      "/api/orders, /api/orders",
      "/api/orders/, /api/orders/",
      "/api/public/../admin, /api/admin",
      "/api/public/../../admin, /admin",
      "/../../etc/passwd, /etc/passwd",
      "/api/./orders, /api/orders",
      "/api/orders/., /api/orders/",
      "/api/orders/.., /api/",
      "/api//orders, /api/orders",
      "///api///orders//, /api/orders/",
      "/api/%61dmin, /api/admin",
      "/api/%2e%2e/admin, /admin",
      "/api/%2E%2E/admin, /admin",
      "/api/.%2e/admin, /admin",
      "/api/%7euser, /api/~user",
      "/api/a%20b, /api/a%20b",
      "/api/a%3fb, /api/a%3Fb",
      "/api/..., /api/...",
      "/api/.hidden, /api/.hidden",
      "/api/a..b, /api/a..b",
      "/api/%2Fadmin, REFUSED",
      "/api/%2fadmin, REFUSED",
      "/api/..%2Fadmin, REFUSED",
      "/api/%5Cadmin, REFUSED",
      "/api\\admin, REFUSED",
      "/api/%00, REFUSED",
      "/api/%zz, REFUSED",
      "/api/%4, REFUSED",
      "api/orders, REFUSED",
      "*, REFUSED",
      "/api/orders#frag, REFUSED",
      "/api#/../admin, REFUSED",
      "/api/..;/admin, REFUSED",
      "/api/..;x=1/admin, REFUSED",
      "/api/.;/admin, REFUSED",
      "/;/admin, REFUSED",
      "/api/;x/admin, REFUSED",
      "/api/%2e%2e;/admin, REFUSED",
      "/api;v=1/admin, REFUSED",
      "/api/..;, REFUSED",
      "/api/page;jsessionid=A1, /api/page;jsessionid=A1",
      "/api/;jsessionid=A1, /api/;jsessionid=A1",
      "/api/.;, REFUSED",
      "/api//page;a=b, /api/page;a=b",
      "/api/a%3Bb/c, /api/a%3Bb/c",
      "/api/..%3B/admin, /api/..%3B/admin",
      "/api/a\u0001b, REFUSED",
      "/api/a\u0000b, REFUSED",
      "/api/a\u007fb, REFUSED",
      "/api/caf\u00e9, REFUSED",
      "/api/a b, REFUSED",
  })
  void normalizes(String path, String expected) {
    assertEquals(expected, PathNormalizer.normalize(path));
  }

  @ParameterizedTest
  @CsvSource({"/api/orders", "/", "/a/b/c.d", "/api/orders?x=1"})
  void normalPathsAreReturnedAsTheyAre(String path) {
    assertSame(path, PathNormalizer.normalize(path));
  }

  @ParameterizedTest(name = "{0} can match: {1}")
  @CsvSource({"/, true", "/api, true", "/api/, true", "/api/., true", "/api/%, true", "/api/%3, true",
      "/api/%3A, true", "/app;v2, true", "/a;, true", "/api//x, false", "/a/./b, false", "/a/../b, false",
      "/a;v=1/b, false", "/%61, false", "/api/%3a, false", "/a b, false", "/a\\b, false", "/a#b, false",
      // Ending inside an escape whose second digit makes a letter, digit or '-' (kept decoded) for some digits only:
      // /api/%40 ('@'), %5B ('['), %60 ('`'), %7B ('{') stay escaped.
      "/api/%4, true", "/api/%5, true", "/api/%6, true", "/api/%7, true", "/%2, true", "/api/%e, false"})
  void aPrefixCanMatchWhenSomeNormalPathStartsWithIt(String prefix, boolean expected) {
    assertEquals(expected, PathNormalizer.canMatch(prefix));
  }

  /**
   * {@link PathNormalizer#canMatch} against the definition, on every prefix of up to three characters after the "/"
   * from an alphabet of the characters that matter (slash, dot, ';', '%', hex digits, letters, '~'): refused exactly
   * when no continuation of up to three characters normalizes to a path starting with it.
   */
  @org.junit.jupiter.api.Test
  void aPrefixIsRefusedOnlyWhenNoPathStartingWithItIsNormal() {
    String alphabet = "/.;%04567ABaex~";
    java.util.List<String> continuations = words(alphabet, 3);
    java.util.List<String> wrong = new java.util.ArrayList<>();
    for (String tail : words(alphabet, 3)) {
      String prefix = "/" + tail;
      boolean some = continuations.stream().map(rest -> PathNormalizer.normalize(prefix + rest))
          .anyMatch(normal -> normal != null && normal.startsWith(prefix));
      if (PathNormalizer.canMatch(prefix) != some) {
        wrong.add(prefix + (some ? " (a normal path starts with it)" : " (no normal path starts with it)"));
      }
    }
    assertEquals(java.util.List.of(), wrong);
  }

  /** Every word of at most {@code length} characters from {@code alphabet}, the empty one first. */
  private static java.util.List<String> words(String alphabet, int length) {
    java.util.List<String> words = new java.util.ArrayList<>(java.util.List.of(""));
    for (int from = 0, n = 1; n <= length; n++) {
      int to = words.size();
      for (int i = from; i < to; i++) {
        for (char c : alphabet.toCharArray()) {
          words.add(words.get(i) + c);
        }
      }
      from = to;
    }
    return words;
  }
}
