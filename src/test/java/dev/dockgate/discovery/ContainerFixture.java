package dev.dockgate.discovery;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Builds one element of {@code GET /containers/json}, either from a file under
 * {@code src/test/resources/containers/} or from scratch, so every test case goes through
 * {@link ContainerInfo#fromListJson}. Mutable; each call of {@link #info()} parses afresh.
 */
public final class ContainerFixture {

  private final JsonObject json;

  private ContainerFixture(JsonObject json) {
    this.json = json;
  }

  /** A fixture file, e.g. {@code host-network-labelled.json}. */
  public static ContainerFixture load(String file) {
    String path = "/containers/" + file;
    try (InputStream in = ContainerFixture.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalArgumentException("no test resource " + path);
      }
      return new ContainerFixture(new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A container in the given network mode with no labels, no networks and no ports. */
  public static ContainerFixture container(String name, String networkMode) {
    return new ContainerFixture(new JsonObject()
        .put("Id", "id-" + name)
        .put("Names", new JsonArray().add("/" + name))
        .put("Ports", new JsonArray())
        .put("Labels", new JsonObject())
        .put("State", "running")
        .put("HostConfig", new JsonObject().put("NetworkMode", networkMode))
        .put("NetworkSettings", new JsonObject().put("Networks", new JsonObject())));
  }

  public ContainerFixture id(String id) {
    json.put("Id", id);
    return this;
  }

  public ContainerFixture name(String name) {
    json.put("Names", new JsonArray().add("/" + name));
    return this;
  }

  public ContainerFixture label(String key, String value) {
    json.getJsonObject("Labels").put(key, value);
    return this;
  }

  public ContainerFixture withoutLabel(String key) {
    json.getJsonObject("Labels").remove(key);
    return this;
  }

  public ContainerFixture networkMode(String mode) {
    json.getJsonObject("HostConfig").put("NetworkMode", mode);
    return this;
  }

  /** Connects to a network; an empty ip is what Docker shows for host and none. */
  public ContainerFixture network(String network, String ip) {
    json.getJsonObject("NetworkSettings").getJsonObject("Networks")
        .put(network, new JsonObject().put("NetworkID", "net-" + network).put("IPAddress", ip));
    return this;
  }

  /** A published binding, as Docker lists it. */
  public ContainerFixture published(String ip, int privatePort, int publicPort) {
    return published(ip, privatePort, publicPort, "tcp");
  }

  public ContainerFixture published(String ip, int privatePort, int publicPort, String type) {
    return port(new JsonObject().put("IP", ip).put("PrivatePort", privatePort)
        .put("PublicPort", publicPort).put("Type", type));
  }

  /** An exposed, unpublished port, as Docker lists it (no IP, no PublicPort). */
  public ContainerFixture exposed(int privatePort, String type) {
    return port(new JsonObject().put("PrivatePort", privatePort).put("Type", type));
  }

  public ContainerFixture exposed(int privatePort) {
    return exposed(privatePort, "tcp");
  }

  private ContainerFixture port(JsonObject port) {
    json.getJsonArray("Ports").add(port);
    return this;
  }

  public JsonObject json() {
    return json.copy();
  }

  public ContainerInfo info() {
    return ContainerInfo.fromListJson(json.copy());
  }

  @Override
  public String toString() {
    return json.getJsonArray("Names").getString(0);
  }
}
