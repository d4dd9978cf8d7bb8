package dev.dockgate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.BindException;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;

class ListenFailureTest {

  @Test
  void theFieldAtFaultIsNamed() {
    assertEquals("server.port: cannot listen on 127.0.0.1:80: permission denied (ports below 1024 need privileges)",
        ListenFailure.of("server", "127.0.0.1", 80, new java.net.SocketException("Permission denied")).getMessage());
    assertEquals("server.admin_listener.port: cannot listen on 127.0.0.1:9901: the address is already in use "
        + "(another process, or another gateway, listens there)", ListenFailure.of("server.admin_listener", "127.0.0.1",
        9901, new BindException("Address already in use")).getMessage());
    assertEquals("server.host: cannot listen on 192.0.2.1:8080: no network interface of this machine has that address",
        ListenFailure.of("server", "192.0.2.1", 8080, new BindException("Cannot assign requested address"))
            .getMessage());
    // A name that does not resolve, however the transport wraps it.
    assertEquals("event_bus_bridge.host: cannot listen on gatway.local:7000: wrapped",
        ListenFailure.of("event_bus_bridge", "gatway.local", 7000,
            new IllegalStateException("wrapped", new UnknownHostException("gatway.local"))).getMessage());
  }
}
