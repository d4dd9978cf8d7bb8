package dev.dockgate;

import dev.dockgate.cluster.ClusterBuilder;
import dev.dockgate.config.ClusterConfig;
import dev.dockgate.config.ConfigException;
import dev.dockgate.config.ConfigLoader;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.launcher.application.HookContext;
import io.vertx.launcher.application.VertxApplication;
import io.vertx.launcher.application.VertxApplicationHooks;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The gateway's entry point: the Vert.x launcher with its usual options, except that {@code -conf}
 * names a YAML or JSON file the gateway loads itself (the stock launcher reads JSON only and would
 * deploy with an empty config) and {@code -instances} sets the router instances. An invalid config
 * is reported as one message and exits with status 1 before anything listens. {@code --validate}
 * ({@code -t}) only checks the config ({@link ConfigCheck}); {@code --version} prints the versions, {@code --help}
 * the gateway's own options.
 *
 * <p>SIGTERM drains after the drain delay ({@link Signals}): the routers stop listening, in-flight
 * requests get up to the drain timeout to finish, then Vert.x closes and the process exits with
 * status 0. The drain timeout, in milliseconds, is the system property {@code gateway.drain.timeout.ms},
 * else the environment variable {@code GATEWAY_DRAIN_TIMEOUT_MS}, else 30000; 0 closes connections at
 * once. Other ways out (SIGINT, System.exit) go through the launcher's shutdown hook, which also drains
 * but exits 130 or 143.
 */
public final class GatewayApplication extends VertxApplication implements VertxApplicationHooks {

  /** Read by RouterVerticle#stop; main() sets it to the validated value (from the environment if needed). */
  public static final String DRAIN_TIMEOUT_PROPERTY = "gateway.drain.timeout.ms";
  public static final String DRAIN_TIMEOUT_ENV = "GATEWAY_DRAIN_TIMEOUT_MS";
  public static final long DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

  /** What --help prints: the gateway's command line (docs/operations.md#command-line says more). */
  static final String USAGE = """
      Usage: java -jar gateway-fat.jar [-conf FILE] [-instances N] [-t | --validate] [--version] [-cluster]
                                       [other Vert.x launcher options]
      An API gateway for Docker containers; the config is one YAML (.yml, .yaml) or JSON (.json) file.
        -conf FILE       the config file (default conf/gateway.yml; also -conf=FILE); a missing or invalid file
                         stops the start
        -t, --validate   check the config as a start would (environment overrides included) and exit:
                         0 valid, 1 invalid; nothing listens
        --version        print the versions of the gateway, Vert.x, Netty and Java and exit
        -instances N     router instances (overrides server.instances; default one per core)
        -cluster         join the gateways named in the config's cluster block
        -h, --help       print this help and exit
      Settings also come from DOCKGATE_<PATH> variables (DOCKGATE_SERVER_PORT=9000) and -Ddockgate.<path>
      properties. The Vert.x launcher's -options, -deployment-options and -cluster-host/-port keep their meaning.
      Signals: SIGTERM drains and exits 0, SIGHUP reloads the config, SIGUSR1 reopens the access log.
      Documentation: docs/operations.md (command line), docs/configuration.md (every key).
      """;

  /** The gateway's own options that take a value, also written -conf=FILE. */
  private static final Set<String> OWN_VALUE_OPTIONS = Set.of("-conf", "--conf", "-instances", "--instances");
  /** The stock launcher's options the gateway passes on: with a value (also written -options=...), and flags. */
  private static final Set<String> LAUNCHER_VALUE_OPTIONS = Set.of("-options", "--options", "-vertx-options",
      "--vertx-options", "-deployment-options", "--deployment-options", "-cluster-host", "--cluster-host",
      "-cluster-port", "--cluster-port", "-cluster-public-host", "--cluster-public-host", "-cluster-public-port",
      "--cluster-public-port");
  private static final Set<String> LAUNCHER_FLAGS = Set.of("-c", "-cluster", "--cluster", "-w", "-worker", "--worker",
      "-vt", "-virtual-thread", "--virtual-thread");

  /** A bad log format setting, reported by main() once logging works (as text). */
  private static final String LOG_FORMAT_PROBLEM;
  private static final Logger LOG;

  static {
    LOG_FORMAT_PROBLEM = LogFormat.setUp();
    LOG = Logger.getLogger(GatewayApplication.class.getName());
  }

  private final String configPath;
  private final Integer instances;
  private final long drainMs;
  private final String transport;
  /** The cluster settings when started with -cluster, else null. */
  private final ClusterConfig cluster;

  private GatewayApplication(String[] launcherArgs, String configPath, Integer instances, long drainMs,
      String transport, ClusterConfig cluster) {
    super(launcherArgs);
    this.configPath = configPath;
    this.instances = instances;
    this.drainMs = drainMs;
    this.transport = transport;
    this.cluster = cluster;
  }

  public static void main(String[] args) {
    NetworkTransport.configureNetty(); // before anything loads Netty's io_uring classes
    dev.dockgate.edge.Protocols.refuseRenegotiation(); // before the JDK's first TLS handshake reads it
    dev.dockgate.edge.Protocols.ignoreServerNames(); // before the JDK's first TLS use reads it
    if (LOG_FORMAT_PROBLEM != null) {
      LOG.severe(LOG_FORMAT_PROBLEM);
      System.exit(2);
    }
    List<String> rest = new ArrayList<>();
    String configPath = MainVerticle.DEFAULT_CONFIG_PATH;
    Integer instances = null;
    boolean validate = false;
    args = splitOwnOptions(args);
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      int equals = arg.indexOf('=');
      if (arg.equals("-conf") || arg.equals("--conf")) {
        if (i + 1 >= args.length || args[i + 1].isBlank()) {
          // Else a -conf at the end would fall to the launcher, and --validate would check the default file instead.
          LOG.severe(arg + ": expected the config file's path, got " + (i + 1 >= args.length ? "nothing" : "\"\""));
          System.exit(2);
        }
        configPath = args[++i];
      } else if (arg.equals("-instances") || arg.equals("--instances")) {
        instances = parseInstances(i + 1 < args.length ? args[++i] : "");
      } else if (arg.equals("--validate") || arg.equals("-validate") || arg.equals("-t")) {
        validate = true;
      } else if (arg.equals("--version") || arg.equals("-version")) {
        System.out.println(Version.describe()); // the command's output, not a log line
        System.exit(0);
      } else if (arg.equals("--help") || arg.equals("-help") || arg.equals("-h")) {
        System.out.print(USAGE); // the stock launcher's would ask for a main verticle and a JSON -conf
        System.exit(0);
      } else if (LAUNCHER_FLAGS.contains(arg) || (arg.startsWith("-") && equals > 0
          && LAUNCHER_VALUE_OPTIONS.contains(arg.substring(0, equals)))) {
        rest.add(arg);
      } else if (LAUNCHER_VALUE_OPTIONS.contains(arg)) {
        rest.add(arg);
        if (i + 1 < args.length) {
          rest.add(args[++i]);
        }
      } else {
        // The launcher would take a path for the main verticle's class name, and answer an unknown option with its own
        // usage, which asks for a main verticle and a JSON config.
        LOG.severe((arg.startsWith("-") ? "unknown option \"" + arg + "\""
            : "unexpected argument \"" + arg + "\": give the config file with -conf FILE")
            + " (java -jar gateway-fat.jar --help lists the options)");
        System.exit(2);
      }
    }
    long drainMs = drainTimeoutMs();
    System.setProperty(DRAIN_TIMEOUT_PROPERTY, Long.toString(drainMs));
    String transport = NetworkTransport.configured();
    try {
      NetworkTransport.choose(transport, true);
    } catch (IllegalArgumentException e) {
      LOG.severe(e.getMessage());
      System.exit(2);
    }
    if (validate) {
      System.exit(ConfigCheck.run(configPath, instances));
    }
    LOG.info(Version.oneLine());
    // Each node keeps its own registry of discovered instances (the default in a cluster is one shared map, which
    // would list every container once per node and keep a dead node's records).
    System.setProperty("vertx-service-discovery-backend-local", "true");
    ClusterConfig cluster = rest.contains("-cluster") || rest.contains("--cluster") ? clusterSettings(configPath) : null;
    int code = new GatewayApplication(rest.toArray(String[]::new), configPath, instances, drainMs, transport, cluster)
        .launch();
    if (code != 0) {
      System.exit(code);
    }
  }

  /**
   * The cluster block, needed before Vert.x starts: loaded as a start loads it (file, environment, system
   * properties) with a short-lived Vert.x, as --validate does; an invalid file stops here with the same message.
   */
  private static ClusterConfig clusterSettings(String configPath) {
    Vertx vertx = Vertx.vertx();
    try {
      return Features.load(vertx, configPath).toCompletionStage().toCompletableFuture()
          .get(60, TimeUnit.SECONDS).cluster();
    } catch (ExecutionException e) {
      String message = e.getCause() instanceof ConfigException ce ? ce.getMessage() : String.valueOf(e.getCause());
      LOG.severe("invalid configuration, not starting:\n" + message);
    } catch (Exception e) {
      LOG.severe("cannot load configuration " + configPath + ": " + e);
    } finally {
      vertx.close();
    }
    System.exit(1);
    return null;
  }


  /** -conf=FILE and -instances=N (also with --) as two arguments: else the launcher took them, the file unread. */
  private static String[] splitOwnOptions(String[] args) {
    List<String> split = new ArrayList<>();
    for (String arg : args) {
      int equals = arg.indexOf('=');
      if (equals > 0 && OWN_VALUE_OPTIONS.contains(arg.substring(0, equals))) {
        split.add(arg.substring(0, equals));
        split.add(arg.substring(equals + 1));
      } else {
        split.add(arg);
      }
    }
    return split.toArray(String[]::new);
  }

  private static Integer parseInstances(String value) {
    try {
      int n = Integer.parseInt(value.trim());
      if (n >= 1) {
        return n;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    LOG.severe("-instances: expected a whole number of at least 1, got \"" + value + "\"");
    System.exit(2);
    return null;
  }

  private static long drainTimeoutMs() {
    String property = System.getProperty(DRAIN_TIMEOUT_PROPERTY);
    String value = property != null ? property : System.getenv(DRAIN_TIMEOUT_ENV);
    if (value == null) {
      return DEFAULT_DRAIN_TIMEOUT_MS;
    }
    try {
      long ms = Long.parseLong(value.trim());
      if (ms >= 0) {
        return ms;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    LOG.severe((property != null ? "-D" + DRAIN_TIMEOUT_PROPERTY : DRAIN_TIMEOUT_ENV)
        + ": expected a whole number of milliseconds, at least 0, got \"" + value + "\"");
    System.exit(2);
    return 0;
  }

  /**
   * Defaults that the options may override: a native transport (io_uring or epoll, see
   * {@link #createVertxBuilder}) and one event loop per core instead of two, so the stats verticle shares a loop with the
   * routers and traffic events rarely have to wake a sleeping thread (measured: +15% requests/s).
   */
  @Override
  public JsonObject afterVertxOptionsParsed(JsonObject vertxOptions) {
    JsonObject options = vertxOptions == null ? new JsonObject() : vertxOptions;
    if (!options.containsKey("preferNativeTransport")) {
      options.put("preferNativeTransport", true);
    }
    if (!options.containsKey("eventLoopPoolSize")) {
      options.put("eventLoopPoolSize", Runtime.getRuntime().availableProcessors());
    }
    if (!options.containsKey("metricsOptions")) {
      // vertx-micrometer-metrics with the Prometheus registry /metrics serves: JVM, process, system and
      // worker-pool meters; the per-request domains stay off (the gateway's own metrics cover requests).
      options.put("metricsOptions", new JsonObject()
          .put("enabled", true)
          .put("jvmMetricsEnabled", true)
          .put("prometheusOptions", new JsonObject().put("enabled", true))
          .put("disabledMetricsCategories", new io.vertx.core.json.JsonArray()
              .add("http.server").add("http.client").add("net.server").add("net.client")
              .add("eventbus").add("datagram")));
    }
    return options;
  }

  /**
   * Vert.x on the transport {@link NetworkTransport} picks: io_uring where the kernel has it, else
   * epoll, else NIO (or the one asked for). The setting was checked in main(), so the choice cannot fail here.
   */
  @Override
  public VertxBuilder createVertxBuilder(VertxOptions options) {
    io.vertx.core.transport.Transport chosen = NetworkTransport.choose(transport, options.getPreferNativeTransport());
    String skipped = transport.equals("auto") ? NetworkTransport.skipped(chosen) : "";
    LOG.info("network transport: " + chosen.name() + (skipped.isEmpty() ? "" : "; " + skipped));
    if (cluster != null) {
      return new ClusterBuilder(cluster, builder -> builder.with(options).withTransport(chosen));
    }
    return Vertx.builder().with(options).withTransport(chosen);
  }

  @Override
  public void beforeDeployingVerticle(HookContext context) {
    try {
      Features.load(context.vertx(), configPath).toCompletionStage().toCompletableFuture()
          .get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      String message = e.getCause() instanceof ConfigException ce ? ce.getMessage() : String.valueOf(e.getCause());
      // The launcher exits silently on a hook failure: say why first.
      LOG.severe("invalid configuration, not starting:\n" + message);
      throw new IllegalStateException(message);
    } catch (Exception e) {
      LOG.severe("cannot load configuration " + configPath + ": " + e);
      throw new IllegalStateException(e);
    }
    JsonObject deployment = new JsonObject().put(MainVerticle.CONFIG_PATH, configPath);
    if (instances != null) {
      deployment.put(MainVerticle.INSTANCES, instances);
    }
    context.deploymentOptions().setConfig(deployment).setInstances(1);
  }

  @Override
  public void afterVerticleDeployed(HookContext context) {
    Signals.install(context.vertx(), drainMs);
  }

  /**
   * A port that cannot be opened, or a file the config names (the access log's), is a configuration problem: one
   * line naming its field, exit status 1, no stack trace.
   */
  @Override
  public void afterFailureToDeployVerticle(HookContext context, Throwable t) {
    ListenFailure listen = ListenFailure.in(t);
    if (listen != null) {
      LOG.severe("cannot start: " + listen.getMessage());
      System.exit(1);
    }
    for (Throwable cause = t; cause != null; cause = cause.getCause() == cause ? null : cause.getCause()) {
      if (cause instanceof ConfigException config) { // a file the config names could not be opened after all
        LOG.severe("invalid configuration, not starting:\n" + config.getMessage());
        System.exit(1);
      }
    }
  }
}
