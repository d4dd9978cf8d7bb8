import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where a gateway's CPU samples and allocations go, from JFR recordings of bench/run.sh (JFR=1):
 * top frames by CPU samples (the method running, and the gateway methods on the stack) and by
 * sampled allocation weight (class, allocating method, the gateway method responsible), as shares
 * of the recording's total, for one recording or two side by side (A, B and B - A in points).
 *
 *   java bench/JfrTop.java [--top N] [--under METHOD] A.jfr [B.jfr]
 *
 * With --under, only the samples and allocations whose stack holds a frame whose "class.method"
 * contains METHOD count (e.g. --under ProxyHandler.create): what that call costs, and where.
 */
public final class JfrTop {

  /** Counts per key, as a share of a total. */
  private static final class Tally {
    final Map<String, Double> byKey = new HashMap<>();
    double total;

    void add(String key, double weight) {
      byKey.merge(key, weight, Double::sum);
    }

    double share(String key) {
      return total == 0 ? 0 : 100 * byKey.getOrDefault(key, 0.0) / total;
    }
  }

  /** The tallies of one recording. */
  private static final class Profile {
    final Tally selfCpu = new Tally();
    final Tally packageCpu = new Tally();
    final Tally gatewayCpu = new Tally();
    final Tally allocClass = new Tally();
    final Tally allocSite = new Tally();
    final Tally allocGateway = new Tally();
    long samples;
    double allocBytes;
    long samplesUnder;
    double allocBytesUnder;
  }

  /** Only stacks with a frame containing this, when set. */
  private static String under;

  public static void main(String[] args) throws Exception {
    int top = 25;
    List<Path> files = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--top")) {
        top = Integer.parseInt(args[++i]);
      } else if (args[i].equals("--under")) {
        under = args[++i];
      } else {
        files.add(Path.of(args[i]));
      }
    }
    if (files.isEmpty() || files.size() > 2) {
      System.err.println("usage: java bench/JfrTop.java [--top N] [--under METHOD] A.jfr [B.jfr]");
      System.exit(2);
    }
    List<Profile> profiles = new ArrayList<>();
    for (Path file : files) {
      profiles.add(read(file));
    }
    for (int i = 0; i < files.size(); i++) {
      Profile p = profiles.get(i);
      System.out.printf("%s: %s: %d CPU samples (jdk.ExecutionSample), %.1f MB of sampled allocation weight%s%n",
          i == 0 ? "A" : "B", files.get(i), p.samples, p.allocBytes / 1e6,
          under == null ? "" : String.format("; under %s: %.2f%% of the samples, %.2f%% of the weight",
              under, 100.0 * p.samplesUnder / Math.max(1, p.samples), 100 * p.allocBytesUnder / Math.max(1, p.allocBytes)));
    }
    if (under != null) {
      System.out.println("(shares below are of the samples and weight under " + under + ")");
    }
    section("CPU samples by package of the running method", profiles, p -> p.packageCpu, top);
    section("CPU samples by running method (self)", profiles, p -> p.selfCpu, top);
    section("CPU samples with this gateway method on the stack (inclusive)", profiles, p -> p.gatewayCpu, top);
    section("allocation weight by class", profiles, p -> p.allocClass, top);
    section("allocation weight by allocating method", profiles, p -> p.allocSite, top);
    section("allocation weight by the innermost gateway method on the stack", profiles, p -> p.allocGateway, top);
  }

  private static Profile read(Path file) throws Exception {
    Profile p = new Profile();
    try (RecordingFile recording = new RecordingFile(file)) {
      while (recording.hasMoreEvents()) {
        RecordedEvent event = recording.readEvent();
        String type = event.getEventType().getName();
        RecordedStackTrace stack = event.getStackTrace();
        if (stack == null || stack.getFrames().isEmpty()) {
          continue;
        }
        List<RecordedFrame> frames = stack.getFrames();
        boolean isSample = type.equals("jdk.ExecutionSample");
        if (isSample) {
          p.samples++;
        } else if (type.equals("jdk.ObjectAllocationSample")) {
          p.allocBytes += event.getLong("weight");
        }
        if (under != null && frames.stream().noneMatch(f -> method(f).contains(under))) {
          continue;
        }
        if (isSample) {
          p.samplesUnder++;
          String self = method(frames.get(0));
          p.selfCpu.add(self, 1);
          p.packageCpu.add(group(frames.get(0).getMethod().getType().getName()), 1);
          Set<String> seen = new HashSet<>();
          for (RecordedFrame frame : frames) {
            String m = method(frame);
            if (m.startsWith("dev.dockgate.") && seen.add(m)) {
              p.gatewayCpu.add(m, 1);
            }
          }
        } else if (type.equals("jdk.ObjectAllocationSample")) {
          double weight = event.getLong("weight");
          p.allocBytesUnder += weight;
          p.allocClass.add(type(event.getClass("objectClass").getName()), weight);
          p.allocSite.add(method(frames.get(0)), weight);
          String gateway = "(no gateway method on the stack)";
          for (RecordedFrame frame : frames) {
            String m = method(frame);
            if (m.startsWith("dev.dockgate.")) {
              gateway = m;
              break;
            }
          }
          p.allocGateway.add(gateway, weight);
        }
      }
    }
    for (Tally t : List.of(p.selfCpu, p.packageCpu, p.gatewayCpu)) {
      t.total = p.samplesUnder;
    }
    for (Tally t : List.of(p.allocClass, p.allocSite, p.allocGateway)) {
      t.total = p.allocBytesUnder;
    }
    return p;
  }

  private static String method(RecordedFrame frame) {
    return type(frame.getMethod().getType().getName()) + "." + frame.getMethod().getName();
  }

  /** A class name without the per-JVM number of a lambda's hidden class, so two recordings compare. */
  private static String type(String name) {
    int lambda = name.indexOf("$$Lambda$");
    return lambda < 0 ? name : name.substring(0, lambda) + "$$Lambda";
  }

  /** The stack layer a class belongs to. */
  private static String group(String className) {
    for (String prefix : List.of("dev.dockgate", "io.vertx.httpproxy", "io.vertx.core.http", "io.vertx.core.eventbus",
        "io.vertx.core", "io.vertx.circuitbreaker", "io.vertx", "io.netty.incubator", "io.netty.handler.codec.http",
        "io.netty.channel", "io.netty.buffer", "io.netty", "io.micrometer", "org.HdrHistogram", "java.util.concurrent",
        "java.util", "java.lang", "jdk", "sun")) {
      if (className.startsWith(prefix + ".")) {
        return prefix;
      }
    }
    return "(other)";
  }

  private static void section(String title, List<Profile> profiles, Function<Profile, Tally> which, int top) {
    List<Tally> tallies = profiles.stream().map(which).toList();
    Set<String> keys = new HashSet<>();
    tallies.forEach(t -> keys.addAll(t.byKey.keySet()));
    List<String> sorted = new ArrayList<>(keys);
    sorted.sort((a, b) -> Double.compare(maxShare(tallies, b), maxShare(tallies, a)));
    System.out.println();
    System.out.println("## " + title);
    System.out.println();
    if (tallies.size() == 1) {
      System.out.println("| share % | frame |");
      System.out.println("| ---: | --- |");
    } else {
      System.out.println("| A % | B % | B - A (points) | frame |");
      System.out.println("| ---: | ---: | ---: | --- |");
    }
    for (String key : sorted.subList(0, Math.min(top, sorted.size()))) {
      if (tallies.size() == 1) {
        System.out.printf("| %.2f | %s |%n", tallies.get(0).share(key), key);
      } else {
        double a = tallies.get(0).share(key);
        double b = tallies.get(1).share(key);
        System.out.printf("| %.2f | %.2f | %+.2f | %s |%n", a, b, b - a, key);
      }
    }
    if (tallies.size() == 2) {
      sorted.sort((x, y) -> Double.compare(tallies.get(1).share(y) - tallies.get(0).share(y),
          tallies.get(1).share(x) - tallies.get(0).share(x)));
      System.out.println();
      System.out.println("Largest increases, B over A (points): " + String.join("; ",
          sorted.subList(0, Math.min(8, sorted.size())).stream()
              .map(k -> String.format("%s %+.2f", k, tallies.get(1).share(k) - tallies.get(0).share(k))).toList()) + ".");
    }
  }

  private static double maxShare(List<Tally> tallies, String key) {
    double max = 0;
    for (Tally t : tallies) {
      max = Math.max(max, t.share(key));
    }
    return max;
  }
}
