package dev.dockgate.config;

/**
 * A number from a YAML config that remembers how it was written: {@code 010}, {@code 1.10}, {@code 1e3} are numbers
 * for a numeric setting and that text for a string one (a label value, a body). Equal to another number of the same
 * value. Immutable.
 */
public final class ConfigNumber extends Number {

  private static final long serialVersionUID = 1L;

  private final String text;
  private final Number value;

  ConfigNumber(String text, Number value) {
    this.text = text;
    this.value = value;
  }

  /** The value as Integer, Long, BigInteger or Double. */
  public Number value() {
    return value;
  }

  @Override
  public int intValue() {
    return value.intValue();
  }

  @Override
  public long longValue() {
    return value.longValue();
  }

  @Override
  public float floatValue() {
    return value.floatValue();
  }

  @Override
  public double doubleValue() {
    return value.doubleValue();
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof ConfigNumber n ? value.equals(n.value) : value.equals(other);
  }

  @Override
  public int hashCode() {
    return value.hashCode();
  }

  /** The number as written in the file. */
  @Override
  public String toString() {
    return text;
  }
}
