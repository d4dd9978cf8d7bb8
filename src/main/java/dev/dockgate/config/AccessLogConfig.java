package dev.dockgate.config;

/**
 * The access log: one line per finished request, as JSON or in the combined log format, to
 * standard output ({@code path: stdout}) or appended to a file. Off unless enabled.
 */
public record AccessLogConfig(boolean enabled, Format format, String path) {

  /** Line formats. */
  public enum Format { JSON, COMBINED }

  public static final AccessLogConfig OFF = new AccessLogConfig(false, Format.JSON, "stdout");
}
