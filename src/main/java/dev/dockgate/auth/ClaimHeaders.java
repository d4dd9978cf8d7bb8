package dev.dockgate.auth;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * A route's {@code forward_claims}: each claim of a verified token that is present goes to its
 * header, written by {@link HeaderText}: a string as it is encoded, a number or boolean as its JSON
 * text, a list as its items each written so (other items as their JSON text) and joined with
 * commas, which no item then holds. Objects and nulls are left out. Immutable; any thread.
 */
final class ClaimHeaders {

  private final String[] claims;
  private final String[] headers;

  ClaimHeaders(Map<String, String> forwardClaims) {
    this.claims = forwardClaims.keySet().toArray(new String[0]);
    this.headers = new String[claims.length];
    for (int i = 0; i < claims.length; i++) {
      headers[i] = forwardClaims.get(claims[i]);
    }
  }

  /** Hands each header to set as (name, value). */
  void forward(JsonObject token, BiConsumer<String, String> set) {
    for (int i = 0; i < claims.length; i++) {
      String value = value(token.getValue(claims[i]));
      if (value != null) {
        set.accept(headers[i], value);
      }
    }
  }

  static String value(Object claim) {
    if (claim instanceof JsonArray list) {
      StringBuilder joined = new StringBuilder();
      for (int i = 0; i < list.size(); i++) {
        Object item = list.getValue(i);
        if (i > 0) {
          joined.append(',');
        }
        joined.append(HeaderText.encode(item instanceof String s ? s : String.valueOf(item)));
      }
      return joined.toString();
    }
    if (claim instanceof String s) {
      return HeaderText.encode(s);
    }
    if (claim instanceof Number || claim instanceof Boolean) {
      return String.valueOf(claim);
    }
    return null;
  }
}
