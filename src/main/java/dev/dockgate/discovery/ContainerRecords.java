package dev.dockgate.discovery;

import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.types.HttpEndpoint;

/** How a container becomes a service-discovery record, and back: the shape routers read. */
public final class ContainerRecords {

  /** Metadata key marking records published by the Docker importer. */
  public static final String SOURCE_KEY = "gateway.source";
  public static final String SOURCE_DOCKER = "docker";
  public static final String ID_KEY = "docker.id";
  public static final String NAME_KEY = "docker.name";
  /** Metadata key of the container's HEALTHCHECK status: none, starting, healthy, unhealthy. */
  public static final String HEALTH_KEY = "docker.health";
  /** Metadata key of the name of the engine the container runs on ({@code docker.engines[].name}). */
  public static final String ENGINE_KEY = "docker.engine";

  private ContainerRecords() {
  }

  /**
   * One http-endpoint record: container labels plus docker.id, docker.name, docker.health, the
   * name of its {@code engine} and the source keys (gateway.id is {@code ENGINE/CONTAINER-ID}) as metadata.
   */
  public static Record toRecord(ContainerInfo container, AddressResolver.Address address, String engine) {
    JsonObject metadata = new JsonObject();
    container.labels().forEach(metadata::put);
    metadata.put(ID_KEY, container.id())
        .put(NAME_KEY, container.name())
        .put(HEALTH_KEY, container.health())
        .put(ENGINE_KEY, engine)
        .put(SOURCE_KEY, SOURCE_DOCKER);
    metadata.put(SourceRecords.ID_KEY, instanceId(metadata));
    return HttpEndpoint.createRecord(container.name(), address.host(), address.port(), "/", metadata);
  }

  /**
   * The instance id of a container's record: {@code ENGINE/CONTAINER-ID}, so that containers of two
   * engines never share one (the same engine listed twice, or ids copied between engines).
   */
  public static String instanceId(JsonObject metadata) {
    String engine = metadata.getString(ENGINE_KEY);
    String id = metadata.getString(ID_KEY);
    return engine == null ? id : engine + "/" + id;
  }

  public static boolean fromDocker(Record record) {
    return SOURCE_DOCKER.equals(record.getMetadata().getString(SOURCE_KEY));
  }
}
