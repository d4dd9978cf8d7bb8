package dev.dockgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

/** Which query parameters' values a traffic event leaves out. */
class QueryRedactionTest {

  @Test
  void credentialValuesAreReplacedAndEverythingElseKept() {
    String[][] cases = {
        {"access_token=abc", "access_token=REDACTED"},
        {"a=1&token=abc&b=2", "a=1&token=REDACTED&b=2"},
        {"API_KEY=abc&ApiKey=def&api-key=ghi&key=jkl", "API_KEY=REDACTED&ApiKey=REDACTED&api-key=REDACTED&key=REDACTED"},
        {"access%5Ftoken=abc&%6Bey=x", "access%5Ftoken=REDACTED&%6Bey=REDACTED"},
        {"id_token=a&refresh_token=b&client_secret=c&password=d&secret=e",
            "id_token=REDACTED&refresh_token=REDACTED&client_secret=REDACTED&password=REDACTED&secret=REDACTED"},
        {"token=", "token="},
        {"token", "token"},
        {"token=a=b&x=1", "token=REDACTED&x=1"},
        {"&&token=a&", "&&token=REDACTED&"},
        {"tokens=a&keyword=b&mykey=c&tok=d", "tokens=a&keyword=b&mykey=c&tok=d"},
        {"x=token=a", "x=token=a"},
        {"", ""},
        {"a&b&token=s&c&key=t", "a&b&token=REDACTED&c&key=REDACTED"},
        {"token&x=1&token=s", "token&x=1&token=REDACTED"},
        {"a&b&c", "a&b&c"},
    };
    for (String[] c : cases) {
      assertEquals(c[1], QueryRedaction.redacted(c[0]), c[0]);
    }
    assertEquals(null, QueryRedaction.redacted(null));
  }

  @Test
  void aQueryWithoutCredentialsIsTheSameString() {
    String query = "page=2&sort=name&q=a%20b";
    assertSame(query, QueryRedaction.redacted(query));
  }
}
