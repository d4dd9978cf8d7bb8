package dev.dockgate.testing;

import dev.dockgate.MainVerticle;
import dev.dockgate.NetworkTransport;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real gateway (MainVerticle and everything it deploys) on its own Vert.x, configured by a real
 * YAML file, listening on a free 127.0.0.1 port; plus a plain HTTP client to talk to it.
 */
public final class GatewayHarness implements AutoCloseable {

  /** On the transport the launcher picks (io_uring where the kernel allows it), as users run it. */
  private final Vertx vertx = Vertx.builder().withTransport(NetworkTransport.choose(NetworkTransport.configured(), true)).build();
  private final int port = Ports.free();
  private final int adminPort = Ports.free();
  private final Path configFile;
  private String serverBase;
  private String serverSection;
  private final GatewayClient client = new GatewayClient(port);

  /** {@code yamlBody} is the config without the server section, which the harness writes. */
  public GatewayHarness(Path dir, String yamlBody) {
    this(dir, yamlBody, 2);
  }

  public GatewayHarness(Path dir, String yamlBody, int instances) {
    this(dir, "", yamlBody, instances);
  }

  /** {@code serverLines}: more keys of the server section, each line indented by two spaces. */
  public GatewayHarness(Path dir, String serverLines, String yamlBody, int instances) {
    try {
      configFile = Files.createTempFile(dir, "gateway-", ".yml");
      // Each gateway's admin listener on a port of its own (the default 9901 would be shared by all).
      serverBase = "server:\n  host: 127.0.0.1\n  port: " + port + "\n"
          + (serverLines.contains("admin_listener") ? "" : "  admin_listener: {port: " + adminPort + "}\n");
      serverSection = serverBase + serverLines;
      Files.writeString(configFile, serverSection + yamlBody);
      DeploymentOptions options = new DeploymentOptions().setConfig(new JsonObject()
          .put(MainVerticle.CONFIG_PATH, configFile.toString())
          .put(MainVerticle.INSTANCES, instances));
      vertx.deployVerticle(new MainVerticle(), options).toCompletionStage().toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      vertx.close();
      throw new IllegalStateException("gateway did not start", e);
    }
  }

  /** The config file the gateway runs from and watches. */
  public Path configFile() {
    return configFile;
  }

  /** Replaces the config (without the server section, which stays) as an operator's edit would. */
  public void rewriteConfig(String yamlBody) {
    write(serverSection + yamlBody);
  }

  /** Replaces the config with other server keys ({@code serverLines}, as in the constructor) too. */
  public void rewriteConfig(String serverLines, String yamlBody) {
    write(serverBase + serverLines + yamlBody);
  }

  /** Rewrites the whole file, server section included: {@code edit} gets the text now in it. */
  public void editConfig(java.util.function.UnaryOperator<String> edit) {
    try {
      write(edit.apply(Files.readString(configFile)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void write(String text) {
    try {
      Path next = Files.createTempFile(configFile.getParent(), "next-", ".yml");
      Files.writeString(next, text);
      Files.move(next, configFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
          java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public int port() {
    return port;
  }

  public Vertx vertx() {
    return vertx;
  }

  /** The admin listener's port (when the test did not configure its own). */
  public int adminPort() {
    return adminPort;
  }

  /** GET on the admin listener: /metrics, /health, /admin/routes, /dashboard. */
  public HttpResponse<String> admin(String pathAndQuery) {
    return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + pathAndQuery))
        .timeout(java.time.Duration.ofSeconds(10)).build());
  }

  public URI uri(String pathAndQuery) {
    return client.uri(pathAndQuery);
  }

  public HttpClient http() {
    return client.http();
  }

  public HttpResponse<String> get(String pathAndQuery) {
    return client.get(pathAndQuery);
  }

  public HttpResponse<String> send(HttpRequest request) {
    return client.send(request);
  }

  public JsonObject stats() {
    return client.stats();
  }

  /** success + error of /stats. */
  public long statsTotal() {
    return client.statsTotal();
  }

  @Override
  public void close() {
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
