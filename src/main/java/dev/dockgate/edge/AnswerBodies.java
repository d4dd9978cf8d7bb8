package dev.dockgate.edge;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;

/**
 * Ends the gateway's own answers, leaving the body out where the answer has no content: a HEAD request's, a 204 or a
 * 304 (RFC 9110 §9.3.2, §15.3.5, §15.4.5). Vert.x's HTTP/1 response does that itself; its HTTP/2 response sends the
 * body as DATA, which makes the response malformed (RFC 9113 §8.1.1): clients reset the stream instead of reading
 * the answer.
 */
public final class AnswerBodies {

  private AnswerBodies() {
  }

  /** Ends {@code request}'s response, its status set, with {@code body} unless the answer has no content. */
  public static Future<Void> end(HttpServerRequest request, Buffer body) {
    int status = request.response().getStatusCode();
    if (body.length() > 0 && request.version() == HttpVersion.HTTP_2
        && (status == 204 || status == 304 || request.method() == HttpMethod.HEAD)) {
      if (status != 204 && status != 304) {
        request.response().putHeader(HttpHeaders.CONTENT_LENGTH, Integer.toString(body.length())); // a GET's length
      }
      return request.response().end();
    }
    return request.response().end(body);
  }
}
