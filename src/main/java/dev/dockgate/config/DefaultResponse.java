package dev.dockgate.config;

/** What the gateway answers when no route matches (rgate's {@code default_response}). */
public record DefaultResponse(int statusCode, String body) {
  public static final DefaultResponse NOT_FOUND = new DefaultResponse(404, "Not Found");
}
