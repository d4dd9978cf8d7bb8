package dev.dockgate.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Consumer names and claim values as header values: the encoding table, and that it is lossless. */
class HeaderTextTest {

  static final Map<String, String> CASES = new LinkedHashMap<>();

  static {
    CASES.put("alice", "alice");
    CASES.put("alice@example.test", "alice@example.test");
    CASES.put("https://id.example.com/u/42?x=1&y=[2]", "https://id.example.com/u/42?x=1&y=[2]");
    CASES.put("bob?", "bob?");
    CASES.put("bob\u20ac", "bob%E2%82%AC");
    CASES.put("bob%E2%82%AC", "bob%25E2%2582%25AC");
    CASES.put("J\u00f6rg Smith", "J%C3%B6rg%20Smith");
    CASES.put("a\u0000b", "a%00b");
    CASES.put("a\u000Bb\u007F", "a%0Bb%7F");
    CASES.put("a\r\nX-Admin: 1", "a%0D%0AX-Admin:%201");
    CASES.put("a,b", "a%2Cb");
    CASES.put(" padded\t", "%20padded%09");
    CASES.put("\ud83d\ude00", "%F0%9F%98%80");
    CASES.put("\ud83d", "%ED%A0%BD");
    CASES.put("", "");
  }

  @Test
  void encodesEachByteOutsideVisibleAsciiAndPercentAndComma() {
    CASES.forEach((text, expected) -> assertEquals(expected, HeaderText.encode(text), text));
  }

  @Test
  void plainNamesAreReturnedAsTheyAre() {
    String name = "ci-bot_7";
    assertSame(name, HeaderText.encode(name));
  }

  @Test
  void percentDecodingGivesTheTextBackSoNoTwoNamesLookAlike() {
    List<String> encoded = new ArrayList<>();
    CASES.keySet().stream().filter(text -> !text.equals("\ud83d")).forEach(text -> {
      String value = HeaderText.encode(text);
      assertEquals(text, URLDecoder.decode(value.replace("+", "%2B"), StandardCharsets.UTF_8), value);
      encoded.add(value);
    });
    assertEquals(encoded.size(), encoded.stream().distinct().count(), encoded.toString());
    assertNotEquals(HeaderText.encode("\ud83d"), HeaderText.encode("?"));
  }

  @Test
  void apiKeyNamesAreWrittenTheSameWay() {
    ApiKeyAuth keys = new ApiKeyAuth(new dev.dockgate.config.ApiKeyAuthConfig("X-API-Key", List.of(
        new dev.dockgate.config.ApiKeyAuthConfig.Key("bob\u20ac", java.util.HexFormat.of().formatHex(ApiKeyAuth.sha256("k1"))),
        new dev.dockgate.config.ApiKeyAuthConfig.Key("bob?", java.util.HexFormat.of().formatHex(ApiKeyAuth.sha256("k2"))))));
    assertEquals("bob%E2%82%AC", keys.authenticate("k1"));
    assertEquals("bob?", keys.authenticate("k2"));
  }

  @Test
  void listClaimsJoinTheirItemsWithCommasNoItemHolds() {
    assertEquals("a%2Cb,c", ClaimHeaders.value(new JsonArray().add("a,b").add("c")));
    assertEquals("a,b%2Cc", ClaimHeaders.value(new JsonArray().add("a").add("b,c")));
    assertEquals(",a", ClaimHeaders.value(new JsonArray().add("").add("a")));
    assertEquals("1,true,{\"k\":\"v\"%2C\"n\":1}", ClaimHeaders.value(new JsonArray().add(1).add(true)
        .add(new JsonObject().put("k", "v").put("n", 1))), "other items as their JSON text");
    assertEquals("42", ClaimHeaders.value(42));
    assertEquals("false", ClaimHeaders.value(false));
    assertEquals(null, ClaimHeaders.value(new JsonObject().put("k", "v")), "objects are left out");
    assertEquals(null, ClaimHeaders.value(null));
  }
}
