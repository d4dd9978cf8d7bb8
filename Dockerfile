# The gateway's image: a Java 17 runtime, the fat jar, a non-root user and a health check.
#   mvn -B -q package -DskipTests
#   docker build -t dockgate .
#   docker run -v $PWD/conf/gateway.yml:/etc/dockgate/gateway.yml:ro \
#     -v /var/run/docker.sock:/var/run/docker.sock:ro --group-add $(stat -c %g /var/run/docker.sock) \
#     -p 8080:8080 dockgate
# BASE_IMAGE: any image with `java` 17+ on its PATH. Without a registry, scripts/jre-image.sh builds one
# (a jlink runtime imported with `docker import`): --build-arg BASE_IMAGE=$(scripts/jre-image.sh).
ARG BASE_IMAGE=eclipse-temurin:17-jre
FROM ${BASE_IMAGE}

COPY target/gateway-fat.jar /app/gateway.jar
COPY conf/gateway.yml /etc/dockgate/gateway.yml

# Any unprivileged id works; to read the Docker socket the container needs the socket's group
# (docker run --group-add, compose group_add).
USER 10001:10001
EXPOSE 8080

# The health check is a second, small JVM (no curl or shell needed in the image). Set
# DOCKGATE_HEALTH_URL when the config moves the port or the health path (liveness is <health_path>/live
# on the main port, whatever the admin listener does).
ENV DOCKGATE_HEALTH_URL=http://127.0.0.1:8080/health/live
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx32m", "-Xshare:auto", \
       "-cp", "/app/gateway.jar", "dev.dockgate.HealthProbe"]

ENTRYPOINT ["java", "-jar", "/app/gateway.jar", "-conf", "/etc/dockgate/gateway.yml"]
