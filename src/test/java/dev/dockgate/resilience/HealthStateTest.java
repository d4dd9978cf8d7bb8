package dev.dockgate.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Health after a sequence of probe results ('+' pass, '-' fail), thresholds healthy 2 / unhealthy 3. */
class HealthStateTest {

  static Stream<Arguments> sequences() {
    return Stream.of(
        Arguments.of("", "H"),
        Arguments.of("--", "HH"),
        Arguments.of("---", "HHU"),
        Arguments.of("--+--", "HHHHH"),      // a pass resets the failure streak
        Arguments.of("---+", "HHUU"),
        Arguments.of("---++", "HHUUH"),
        Arguments.of("---+-++", "HHUUUUH"),  // a failure resets the pass streak
        Arguments.of("---++---", "HHUUHHHU"));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("sequences")
  void followsConsecutiveResults(String probes, String expected) {
    HealthState state = new HealthState(2, 3);
    List<String> seen = new ArrayList<>();
    for (char c : probes.toCharArray()) {
      state.record(c == '+');
      seen.add(state.healthy() ? "H" : "U");
    }
    assertEquals(expected.isEmpty() ? "H" : expected, probes.isEmpty() ? (state.healthy() ? "H" : "U") : String.join("", seen));
  }
}
