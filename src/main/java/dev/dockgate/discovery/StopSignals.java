package dev.dockgate.discovery;

import java.util.Locale;
import java.util.Map;

/**
 * Linux signal numbers from the ways Docker writes a signal: a number ({@code 28}, as in the
 * {@code signal} attribute of a {@code kill} event) or a name with or without {@code SIG}
 * ({@code SIGWINCH}, {@code WINCH}, {@code SIGRTMIN+3}, as in a container's {@code Config.StopSignal}).
 * The table is Docker's for Linux on x86 and ARM.
 */
final class StopSignals {

  /** What a container that names no stop signal is stopped with. */
  static final int SIGTERM = 15;
  private static final int SIGRTMIN = 34;
  private static final int SIGRTMAX = 64;

  private static final Map<String, Integer> NUMBERS = Map.ofEntries(
      Map.entry("HUP", 1), Map.entry("INT", 2), Map.entry("QUIT", 3), Map.entry("ILL", 4), Map.entry("TRAP", 5),
      Map.entry("ABRT", 6), Map.entry("IOT", 6), Map.entry("BUS", 7), Map.entry("FPE", 8), Map.entry("KILL", 9),
      Map.entry("USR1", 10), Map.entry("SEGV", 11), Map.entry("USR2", 12), Map.entry("PIPE", 13),
      Map.entry("ALRM", 14), Map.entry("TERM", 15), Map.entry("STKFLT", 16), Map.entry("CHLD", 17),
      Map.entry("CONT", 18), Map.entry("STOP", 19), Map.entry("TSTP", 20), Map.entry("TTIN", 21),
      Map.entry("TTOU", 22), Map.entry("URG", 23), Map.entry("XCPU", 24), Map.entry("XFSZ", 25),
      Map.entry("VTALRM", 26), Map.entry("PROF", 27), Map.entry("WINCH", 28), Map.entry("IO", 29),
      Map.entry("POLL", 29), Map.entry("PWR", 30), Map.entry("SYS", 31),
      Map.entry("RTMIN", SIGRTMIN), Map.entry("RTMAX", SIGRTMAX));

  private StopSignals() {
  }

  /** The signal's number, or -1 when {@code signal} is null, empty or names no Linux signal. */
  static int number(String signal) {
    if (signal == null) {
      return -1;
    }
    String s = signal.trim().toUpperCase(Locale.ROOT);
    if (s.startsWith("SIG")) {
      s = s.substring(3);
    }
    if (s.isEmpty()) {
      return -1;
    }
    if (Character.isDigit(s.charAt(0))) {
      return parse(s, 1, SIGRTMAX);
    }
    int plus = s.indexOf('+');
    if (plus > 0 && s.startsWith("RTMIN")) {
      int n = parse(s.substring(plus + 1), 0, SIGRTMAX - SIGRTMIN);
      return plus == 5 && n >= 0 ? SIGRTMIN + n : -1;
    }
    int minus = s.indexOf('-');
    if (minus > 0 && s.startsWith("RTMAX")) {
      int n = parse(s.substring(minus + 1), 0, SIGRTMAX - SIGRTMIN);
      return minus == 5 && n >= 0 ? SIGRTMAX - n : -1;
    }
    return NUMBERS.getOrDefault(s, -1);
  }

  private static int parse(String digits, int min, int max) {
    if (digits.isEmpty() || digits.length() > 3 || !digits.chars().allMatch(Character::isDigit)) {
      return -1;
    }
    int n = Integer.parseInt(digits);
    return n >= min && n <= max ? n : -1;
  }
}
