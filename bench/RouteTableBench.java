import dev.dockgate.routing.RouteTable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What matching a request costs with one route and with a large table: the gateway's RouteTable
 * built from the bench route alone and from the bench route plus the routes of a file (the YAML
 * items bench/routes.sh writes), matched in alternating rounds of the same run. Arguments: the
 * routes file, rounds (default 7), matches per round (default 20000000).
 */
public final class RouteTableBench {

  private static final Pattern ITEM = Pattern.compile(
      "\\{path_prefix: ([^,}]+)(?:, host: ([^,}]+))?(?:, methods: \\[([^\\]]*)\\])?, backend: [^}]+\\}");
  /** What wrk sends in bench/run.sh (Host without its port), and a longer path on the same branch. */
  private static final String HOST = "127.0.0.1";
  private static final String[] PATHS = {"/bench", "/bench/items/42"};

  public static void main(String[] args) throws Exception {
    List<String> lines = Files.readAllLines(Path.of(args[0]));
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
    int matches = args.length > 2 ? Integer.parseInt(args[2]) : 20_000_000;
    RouteTable.Entry<String> bench = new RouteTable.Entry<>("/bench", null, Set.of(), "bench");
    List<RouteTable.Entry<String>> many = new ArrayList<>(List.of(bench));
    for (String line : lines) {
      Matcher m = ITEM.matcher(line);
      if (m.find()) {
        Set<String> methods = m.group(3) == null ? Set.of() : Set.of(m.group(3).split(", "));
        many.add(new RouteTable.Entry<>(m.group(1), m.group(2), methods, "other"));
      }
    }
    RouteTable<String> one = new RouteTable<>(List.of(bench));
    RouteTable<String> large = new RouteTable<>(many);
    for (String path : PATHS) {
      if (!"bench".equals(one.match(HOST, "GET", path)) || !"bench".equals(large.match(HOST, "GET", path))) {
        throw new IllegalStateException(path + " does not match the bench route");
      }
    }
    System.out.printf("tables: 1 route and %d routes; GET %s with Host %s%n", large.size(), String.join(" and ", PATHS), HOST);
    nsPerMatch(one, matches);
    nsPerMatch(large, matches); // warm-up
    double[] oneNs = new double[rounds];
    double[] largeNs = new double[rounds];
    double[] extra = new double[rounds];
    for (int r = 0; r < rounds; r++) {
      // Alternating order, so drift on a shared machine weighs on both alike.
      if (r % 2 == 0) {
        oneNs[r] = nsPerMatch(one, matches);
        largeNs[r] = nsPerMatch(large, matches);
      } else {
        largeNs[r] = nsPerMatch(large, matches);
        oneNs[r] = nsPerMatch(one, matches);
      }
      extra[r] = largeNs[r] - oneNs[r];
      System.out.printf("round %d: 1 route %.1f ns/match, %d routes %.1f ns/match, %+.1f ns%n",
          r + 1, oneNs[r], large.size(), largeNs[r], extra[r]);
    }
    System.out.printf("median: 1 route %.1f ns/match, %d routes %.1f ns/match, %+.1f ns per match%n",
        median(oneNs), large.size(), median(largeNs), median(extra));
  }

  /** Matches the paths in turn; the count of hits keeps the JIT from dropping the work. */
  static double nsPerMatch(RouteTable<String> table, int matches) {
    int hits = 0;
    long start = System.nanoTime();
    for (int i = 0; i < matches; i++) {
      if (table.match(HOST, "GET", PATHS[i & 1]) != null) {
        hits++;
      }
    }
    double ns = (System.nanoTime() - start) / (double) matches;
    if (hits != matches) {
      throw new IllegalStateException("missed " + (matches - hits));
    }
    return ns;
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
}
