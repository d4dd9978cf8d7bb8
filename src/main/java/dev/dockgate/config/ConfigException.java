package dev.dockgate.config;

import java.util.List;

/** A config file that cannot be used: every problem found, each as {@code file: field: problem}. */
public final class ConfigException extends RuntimeException {

  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super(String.join("\n", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
