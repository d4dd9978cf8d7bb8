package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.LoggedErrors;
import dev.dockgate.testing.Poll;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * gRPC through the gateway, grpc-java's own Netty server behind it and its own client in front (h2c on both
 * sides; the backend with {@code protocol: http2}): the four kinds of call, statuses and trailer metadata that
 * come after the messages or instead of them (trailers-only), a stream whose server speaks first, the gateway's
 * headers reaching the server, a backend down seen as UNAVAILABLE, /stats counting each call once. Also the
 * trailer fields of an HTTP/1.1 backend's chunked answer, relayed to HTTP/1.1 and HTTP/2 clients.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GrpcIT {

  private static final Metadata.Key<String> CHECKSUM = Metadata.Key.of("x-checksum", Metadata.ASCII_STRING_MARSHALLER);

  @TempDir
  Path dir;

  private Server backend;
  private final Map<String, String> seenHeaders = new ConcurrentHashMap<>();
  private ManagedChannel channel;

  @BeforeEach
  void startBackend() throws Exception {
    Service.cancelled.set(0);
    ServerInterceptor headers = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata metadata,
          ServerCallHandler<Q, R> next) {
        for (String key : metadata.keys()) {
          if (!key.endsWith("-bin")) {
            seenHeaders.put(key, metadata.get(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER)));
          }
        }
        return next.startCall(call, metadata);
      }
    };
    backend = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerInterceptors.intercept(new Service(), headers))
        .build().start();
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    backend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private static String config(int port) {
    return simpleService("    targets: [\"http://127.0.0.1:" + port + "\"]\n");
  }

  /** The test service's route (timeout_ms 5000) to backend simple, in HTTP/2, with {@code backendLines} added. */
  private static String simpleService(String backendLines) {
    return """
        docker: {enabled: false}
        routes:
          - {path_prefix: /grpc.testing.SimpleService/, backend: simple, timeout_ms: 5000}
        backends:
          - name: simple
            protocol: http2
        """ + backendLines;
  }

  /** Every path to one backend on {@code port}, spoken to in {@code protocol}. */
  private static String everythingTo(int port, String protocol) {
    return """
        docker: {enabled: false}
        routes:
          - {path_prefix: /, backend: one}
        backends:
          - {name: one, protocol: %s, targets: ["http://127.0.0.1:%d"]}
        """.formatted(protocol, port);
  }

  private SimpleServiceGrpc.SimpleServiceBlockingStub blocking(GatewayHarness gateway) {
    channel = NettyChannelBuilder.forAddress("127.0.0.1", gateway.port()).usePlaintext().build();
    return SimpleServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private static SimpleRequest request(String text) {
    return SimpleRequest.newBuilder().setRequestMessage(text).build();
  }

  /**
   * Unary calls answered, and failed with a status the server sets (NOT_FOUND with its message, sent as a
   * trailers-only answer); a 3 MiB message each way; each call's gRPC status in its traffic event; the server saw the
   * gateway's X-Forwarded-For and X-Request-Id;
   * /stats counts both calls (gRPC answers HTTP 200 either way).
   */
  @Test
  void unaryCallsAndTheirStatusesPassThrough() throws Exception {
    LoggedErrors errors = new LoggedErrors();
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", config(backend.getPort()), 1)) {
      List<Object> grpcStatuses = new java.util.concurrent.CopyOnWriteArrayList<>();
      gateway.vertx().eventBus().<io.vertx.core.json.JsonObject>localConsumer(dev.dockgate.events.Addresses.TRAFFIC,
          m -> grpcStatuses.add(m.body().getValue("grpc_status"))).completion().toCompletionStage().toCompletableFuture()
          .get(5, TimeUnit.SECONDS);
      SimpleServiceGrpc.SimpleServiceBlockingStub stub = blocking(gateway);
      assertEquals("echo: hello", stub.unaryRpc(request("hello")).getResponseMessage());
      String large = "0123456789abcdef".repeat(3 << 16); // 3 MiB each way, past every window on the way
      assertEquals("echo: " + large, stub.unaryRpc(request(large)).getResponseMessage());
      assertEquals("127.0.0.1", seenHeaders.get("x-forwarded-for"));
      assertNotNull(seenHeaders.get("x-request-id"), "the gateway's request id reaches the server");

      StatusRuntimeException failed = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
          () -> stub.unaryRpc(request("missing")));
      assertEquals(Status.Code.NOT_FOUND, failed.getStatus().getCode());
      assertEquals("no such thing: missing", failed.getStatus().getDescription());
      assertEquals("7", failed.getTrailers().get(CHECKSUM), "the server's trailer metadata reaches the client");

      Poll.until(Duration.ofSeconds(5), "/stats counts the 3 calls", () -> gateway.statsTotal() == 3);
      Poll.until(Duration.ofSeconds(5), "3 traffic events", () -> grpcStatuses.size() == 3);
      assertEquals(List.of(0, 0, 5), grpcStatuses, "each call's gRPC status in its traffic event (NOT_FOUND is 5,"
          + " from a trailers-only answer)");
      assertEquals(List.of(), errors.lines());
    } finally {
      errors.close();
    }
  }

  /**
   * A server stream of 200 messages ends with its OK status and trailer metadata after the messages; one that
   * fails after 3 messages delivers the 3, then its status (ABORTED) and message.
   */
  @Test
  void serverStreamsEndWithTheirTrailers() throws Exception {
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", config(backend.getPort()), 1)) {
      SimpleServiceGrpc.SimpleServiceBlockingStub stub = blocking(gateway);
      List<String> got = new ArrayList<>();
      stub.serverStreamingRpc(request("200")).forEachRemaining(r -> got.add(r.getResponseMessage()));
      assertEquals(200, got.size());
      assertEquals("message 199", got.get(199));

      List<String> partial = new ArrayList<>();
      Iterator<SimpleResponse> failing = stub.serverStreamingRpc(request("3 then abort"));
      StatusRuntimeException failed = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
          () -> failing.forEachRemaining(r -> partial.add(r.getResponseMessage())));
      assertEquals(List.of("message 0", "message 1", "message 2"), partial);
      assertEquals(Status.Code.ABORTED, failed.getStatus().getCode());
      assertEquals("gave up after 3", failed.getStatus().getDescription());
      Poll.until(Duration.ofSeconds(5), "/stats counts the 2 calls", () -> gateway.statsTotal() == 2);
    }
  }

  /**
   * A client stream of 50 messages is answered with their count; a bidirectional stream whose server speaks
   * first (the client sends nothing until it is greeted) reaches the server at once and echoes what follows.
   */
  @Test
  void clientAndBidirectionalStreams() throws Exception {
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", config(backend.getPort()), 1)) {
      blocking(gateway);
      SimpleServiceGrpc.SimpleServiceStub stub = SimpleServiceGrpc.newStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS);
      Collector counted = new Collector();
      StreamObserver<SimpleRequest> upload = stub.clientStreamingRpc(counted);
      for (int i = 0; i < 50; i++) {
        upload.onNext(request("part " + i));
      }
      upload.onCompleted();
      assertEquals("50 messages", counted.next());
      assertEquals("completed", counted.next());

      Collector greeted = new Collector();
      StreamObserver<SimpleRequest> chat = stub.bidiStreamingRpc(greeted);
      assertEquals("hello, who is there?", greeted.next(), "the server's first message arrives before any of ours");
      chat.onNext(request("one"));
      assertEquals("echo: one", greeted.next());
      chat.onNext(request("two"));
      assertEquals("echo: two", greeted.next());
      chat.onCompleted();
      assertEquals("completed", greeted.next());
      Poll.until(Duration.ofSeconds(5), "/stats counts the 2 calls", () -> gateway.statsTotal() == 2);
    }
  }

  /**
   * A client that cancels a server stream after 3 messages (RST_STREAM CANCEL) is the client leaving: the
   * server sees its call cancelled at once, the call is counted once, and ten such cancellations never open the
   * instance's circuit (five failures would): a unary call still goes through.
   */
  @Test
  void aCancelledCallReachesTheServerAndIsNotTheBackendFailing() throws Exception {
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", config(backend.getPort()), 1)) {
      SimpleServiceGrpc.SimpleServiceBlockingStub stub = blocking(gateway);
      for (int i = 0; i < 10; i++) {
        io.grpc.Context.CancellableContext call = io.grpc.Context.current().withCancellation();
        List<String> got = new ArrayList<>();
        call.run(() -> {
          Iterator<SimpleResponse> endless = stub.serverStreamingRpc(request("endless"));
          for (int m = 0; m < 3; m++) {
            got.add(endless.next().getResponseMessage());
          }
          call.cancel(null);
        });
        assertEquals(List.of("message 0", "message 1", "message 2"), got);
      }
      Poll.until(Duration.ofSeconds(5), "the server saw the 10 calls cancelled", () -> Service.cancelled.get() == 10);
      assertEquals("echo: still there", stub.unaryRpc(request("still there")).getResponseMessage(),
          "the circuit stays closed");
      Poll.until(Duration.ofSeconds(5), "/stats counts the 11 calls", () -> gateway.statsTotal() == 11);
      io.vertx.core.json.JsonObject counts = gateway.stats().getJsonObject("requests_count");
      assertEquals(10, counts.getLong("error"), "the cancelled calls are no successes (they were): " + counts);
    }
  }

  /**
   * A server stream whose server goes away after 3 messages: the client's stream is reset (INTERNAL), and the call
   * is counted as an error, with INTERNAL as its gRPC status (it was a success, for its HTTP 200).
   */
  @Test
  void aStreamCutByItsServerIsAnError() throws Exception {
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", config(backend.getPort()), 1)) {
      List<io.vertx.core.json.JsonObject> events = new java.util.concurrent.CopyOnWriteArrayList<>();
      gateway.vertx().eventBus().<io.vertx.core.json.JsonObject>localConsumer(dev.dockgate.events.Addresses.TRAFFIC,
          m -> events.add(m.body().copy())).completion().toCompletionStage().toCompletableFuture()
          .get(5, TimeUnit.SECONDS);
      Iterator<SimpleResponse> endless = blocking(gateway).serverStreamingRpc(request("endless"));
      for (int m = 0; m < 3; m++) {
        endless.next();
      }
      backend.shutdownNow();
      Status cut = failure(() -> endless.forEachRemaining(r -> { }));
      assertEquals(Status.Code.INTERNAL, cut.getCode(), cut.toString());
      Poll.until(Duration.ofSeconds(5), "the call's traffic event", () -> events.size() == 1);
      assertEquals(13, events.get(0).getInteger("grpc_status"), events.get(0).encode());
      io.vertx.core.json.JsonObject counts = gateway.stats().getJsonObject("requests_count");
      assertEquals(0, counts.getLong("success"), "/stats: " + counts);
      assertEquals(1, counts.getLong("error"), "/stats: " + counts);
    }
  }

  /**
   * A gRPC call waits for its answer as long as its own deadline (grpc-timeout), not the route's timeout_ms: a
   * server stream whose first message (and so its head) comes after 2.5 s, on a route of 1 s, arrives for a
   * client with an 8 s deadline; a call without a deadline gets the route's 504, as DEADLINE_EXCEEDED.
   */
  @Test
  void aCallsOwnDeadlineReplacesTheRouteTimeout() throws Exception {
    String yaml = config(backend.getPort()).replace("timeout_ms: 5000", "timeout_ms: 1000");
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", yaml, 1)) {
      blocking(gateway);
      SimpleServiceGrpc.SimpleServiceBlockingStub patient = SimpleServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(8, TimeUnit.SECONDS);
      List<String> got = new ArrayList<>();
      patient.serverStreamingRpc(request("late")).forEachRemaining(r -> got.add(r.getResponseMessage()));
      assertEquals(List.of("late message"), got);

      SimpleServiceGrpc.SimpleServiceBlockingStub noDeadline = SimpleServiceGrpc.newBlockingStub(channel);
      StatusRuntimeException failed = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
          () -> noDeadline.serverStreamingRpc(request("late")).forEachRemaining(r -> { }));
      assertEquals(Status.Code.DEADLINE_EXCEEDED, failed.getStatus().getCode(), failed.getStatus().toString());
      assertEquals("backend \"simple\" did not answer in time", failed.getStatus().getDescription(),
          "the gateway's reason, where grpc-java said \"HTTP status code 504\" before");
    }
  }

  /**
   * A call's streams live as long as the call, whatever the gateway's limits on ordinary requests: with
   * {@code body_timeout_ms} and {@code idle_timeout_ms} at 1 s and {@code max_body_bytes} at 10,000, a bidirectional
   * stream of 40 messages of 1,000 bytes over 2.4 s is echoed whole, and a server stream with a message every 1.5 s
   * (its connection quiet meanwhile) gets all three. Both were cut: at the body's 1 s (RST_STREAM), after 9 messages
   * (the body limit), and with the connection closed as idle between messages. A connection with no stream open is
   * still closed after the idle timeout.
   */
  @Test
  void longLargeAndQuietStreamsLiveAsLongAsTheirCall() throws Exception {
    String server = "  h2c: true\n  body_timeout_ms: 1000\n  idle_timeout_ms: 1000\n  max_body_bytes: 10000\n";
    try (GatewayHarness gateway = new GatewayHarness(dir, server, config(backend.getPort()), 1)) {
      blocking(gateway);
      SimpleServiceGrpc.SimpleServiceStub stub = SimpleServiceGrpc.newStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
      Collector echoes = new Collector();
      StreamObserver<SimpleRequest> chat = stub.bidiStreamingRpc(echoes);
      assertEquals("hello, who is there?", echoes.next());
      String kilobyte = "k".repeat(1000);
      for (int i = 0; i < 40; i++) {
        chat.onNext(request(i + kilobyte));
        Thread.sleep(60);
      }
      chat.onCompleted();
      for (int i = 0; i < 40; i++) {
        assertEquals("echo: " + i + kilobyte, echoes.next(), "echo " + i);
      }
      assertEquals("completed", echoes.next());

      List<String> paced = new ArrayList<>();
      SimpleServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
          .serverStreamingRpc(request("paced")).forEachRemaining(r -> paced.add(r.getResponseMessage()));
      assertEquals(List.of("paced 0", "paced 1", "paced 2"), paced);

      Vertx vertx = Vertx.vertx();
      try {
        io.vertx.core.http.HttpClient h2 = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
            .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
        java.util.concurrent.CompletableFuture<Long> closed = new java.util.concurrent.CompletableFuture<>();
        long start = System.nanoTime();
        h2.request(io.vertx.core.http.HttpMethod.GET, gateway.port(), "127.0.0.1", "/nowhere")
            .onSuccess(req -> req.connection().closeHandler(v -> closed.complete((System.nanoTime() - start) / 1_000_000)))
            .compose(req -> req.send().compose(io.vertx.core.http.HttpClientResponse::body)) // see TlsIT.send
            .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        long closedAfterMs = closed.get(5, TimeUnit.SECONDS);
        assertTrue(closedAfterMs >= 900, "an HTTP/2 connection without streams closed after idle_timeout_ms: " + closedAfterMs);
      } finally {
        vertx.close();
      }
    }
  }

  /**
   * A gRPC server behind TLS ({@code https://} target, {@code protocol: http2}): the gateway negotiates h2 through
   * ALPN, checks the server's certificate against the backend's {@code ca_file}, and the call and a gRPC health
   * check over TLS both pass.
   */
  @Test
  void aGrpcServerBehindTlsIsReachedThroughAlpn() throws Exception {
    dev.dockgate.testing.TestCerts.Pem cert = dev.dockgate.testing.TestCerts.selfSigned(dir, "grpc-backend");
    io.grpc.protobuf.services.HealthStatusManager health = new io.grpc.protobuf.services.HealthStatusManager();
    Server secure = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .useTransportSecurity(cert.cert().toFile(), cert.key().toFile())
        .addService(new Service("tls")).addService(health.getHealthService()).build().start();
    String yaml = simpleService("""
            targets: ["https://127.0.0.1:%d"]
            tls: {ca_file: "%s"}
            health_check: {type: grpc, interval_ms: 2000, timeout_ms: 2000, healthy_threshold: 1, unhealthy_threshold: 1}
        """.formatted(secure.getPort(), cert.cert()));
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", yaml, 1)) {
      SimpleServiceGrpc.SimpleServiceBlockingStub stub = blocking(gateway);
      Poll.until(Duration.ofSeconds(5), "a call through TLS answered", () -> {
        try {
          return stub.unaryRpc(request("over tls")).getResponseMessage().equals("tls echo: over tls");
        } catch (StatusRuntimeException e) {
          return false; // a first probe slower than its timeout (a cold TLS handshake) took the instance out a moment
        }
      });
      health.setStatus("", io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
      Poll.until(Duration.ofSeconds(15), "the health check over TLS takes the instance out", () -> {
        try {
          stub.unaryRpc(request("x"));
          return false;
        } catch (StatusRuntimeException e) {
          return e.getStatus().getCode() == Status.Code.UNAVAILABLE; // 503: no instance available
        }
      });
    } finally {
      secure.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /**
   * Under load: 16 client threads on 4 channels make 2,000 unary calls and 48 server streams of 50 messages
   * at once through two router instances: every call answered right, /stats counting each once, nothing logged as
   * an error.
   */
  @Test
  void concurrentCallsAndStreamsUnderLoad() throws Exception {
    LoggedErrors errors = new LoggedErrors();
    List<ManagedChannel> channels = new ArrayList<>();
    java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(16);
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", config(backend.getPort()), 2)) {
      for (int c = 0; c < 4; c++) {
        channels.add(NettyChannelBuilder.forAddress("127.0.0.1", gateway.port()).usePlaintext().build());
      }
      java.util.concurrent.atomic.AtomicInteger wrong = new java.util.concurrent.atomic.AtomicInteger();
      List<java.util.concurrent.Future<?>> work = new ArrayList<>();
      for (int t = 0; t < 16; t++) {
        SimpleServiceGrpc.SimpleServiceBlockingStub stub = SimpleServiceGrpc.newBlockingStub(channels.get(t % 4));
        int thread = t;
        work.add(threads.submit(() -> {
          for (int i = 0; i < 125; i++) {
            String text = thread + "-" + i;
            if (!stub.withDeadlineAfter(10, TimeUnit.SECONDS).unaryRpc(request(text)).getResponseMessage()
                .equals("echo: " + text)) {
              wrong.incrementAndGet();
            }
            if (i % 50 == 0) {
              List<String> got = new ArrayList<>();
              stub.withDeadlineAfter(10, TimeUnit.SECONDS).serverStreamingRpc(request("50"))
                  .forEachRemaining(r -> got.add(r.getResponseMessage()));
              if (got.size() != 50 || !got.get(49).equals("message 49")) {
                wrong.incrementAndGet();
              }
            }
          }
          return null;
        }));
      }
      for (java.util.concurrent.Future<?> f : work) {
        f.get(50, TimeUnit.SECONDS);
      }
      assertEquals(0, wrong.get(), "every answer right");
      Poll.until(Duration.ofSeconds(5), "/stats counts the 2,048 calls", () -> gateway.statsTotal() == 2048);
      assertEquals(2048, gateway.stats().getJsonObject("requests_count").getLong("success"));
      assertEquals(List.of(), errors.lines(), "nothing logged as an error");
    } finally {
      threads.shutdownNow();
      for (ManagedChannel channel : channels) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      errors.close();
    }
  }

  /**
   * The gateway's own answers to gRPC calls are gRPC statuses (HTTP 200, trailers-only) with its reason as the
   * message, where a bare HTTP status left grpc-java to report "HTTP status code 503, invalid content-type:
   * text/plain": no instance reachable (UNAVAILABLE), no API key (UNAUTHENTICATED), a rate limit (UNAVAILABLE), no
   * route (the default response: UNIMPLEMENTED, its 9 KB text percent-encoded and cut to 1 KB on the way, decoded by
   * the client; whole, it failed the call with INTERNAL). Each
   * carries the request id; each is counted once, as an error in /stats, with the HTTP status it stands for and its
   * gRPC status in its traffic event.
   */
  @Test
  void theGatewaysOwnAnswersAreGrpcStatuses() throws Exception {
    int down = backend.getPort();
    backend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    Server up = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(new Service()).build()
        .start();
    LoggedErrors errors = new LoggedErrors();
    String key = java.util.HexFormat.of().formatHex(dev.dockgate.auth.ApiKeyAuth.sha256("grpc-key"));
    String yaml = """
        docker: {enabled: false}
        default_response: {status_code: 404, body: "no route: 100%% sûr %s"}
        routes:
          - {path_prefix: /grpc.testing.SimpleService/UnaryRpc, backend: gone}
          - path_prefix: /grpc.testing.SimpleService/ClientStreamingRpc
            backend: simple
            auth: {type: api_key, keys: [{name: ci, sha256: "%s"}]}
          - path_prefix: /grpc.testing.SimpleService/ServerStreamingRpc
            backend: simple
            rate_limit: {requests_per_second: 0.01, burst: 1}
        backends:
          - {name: gone, protocol: http2, targets: ["http://127.0.0.1:%d"]}
          - {name: simple, protocol: http2, targets: ["http://127.0.0.1:%d"]}
        """.formatted("x".repeat(9000), key, down, up.getPort());
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", yaml, 1)) {
      List<io.vertx.core.json.JsonObject> events = new java.util.concurrent.CopyOnWriteArrayList<>();
      gateway.vertx().eventBus().<io.vertx.core.json.JsonObject>localConsumer(dev.dockgate.events.Addresses.TRAFFIC,
          m -> events.add(m.body().copy())).completion().toCompletionStage().toCompletableFuture()
          .get(5, TimeUnit.SECONDS);
      SimpleServiceGrpc.SimpleServiceBlockingStub stub = blocking(gateway);

      Status unreachable = failure(() -> stub.unaryRpc(request("hello")));
      assertEquals(Status.Code.UNAVAILABLE, unreachable.getCode(), unreachable.toString());
      assertTrue(unreachable.getDescription().startsWith("backend \"gone\""), unreachable.toString());

      SimpleServiceGrpc.SimpleServiceStub async = SimpleServiceGrpc.newStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS);
      Status noKey = Status.fromThrowable(streamFailure(async::clientStreamingRpc));
      assertEquals(Status.Code.UNAUTHENTICATED, noKey.getCode(), noKey.toString());

      List<String> first = new ArrayList<>();
      stub.serverStreamingRpc(request("2")).forEachRemaining(r -> first.add(r.getResponseMessage()));
      assertTrue(!first.isEmpty(), "the first stream, within the limit");
      Status limited = failure(() -> stub.serverStreamingRpc(request("2")).forEachRemaining(r -> { }));
      assertEquals(Status.Code.UNAVAILABLE, limited.getCode(), limited.toString());

      Throwable noRoute = streamFailure(async::bidiStreamingRpc);
      assertEquals(Status.Code.UNIMPLEMENTED, Status.fromThrowable(noRoute).getCode(), noRoute.toString());
      String text = Status.fromThrowable(noRoute).getDescription();
      assertTrue(text.startsWith("no route: 100% sûr xxx") && text.length() < 1024, "the default response's text, cut"
          + " short of the 8 KiB a client takes: " + text.length() + " characters");
      assertNotNull(Status.trailersFromThrowable(noRoute).get(Metadata.Key.of("x-request-id",
          Metadata.ASCII_STRING_MARSHALLER)), "the request id among the trailers");

      Poll.until(Duration.ofSeconds(5), "5 traffic events", () -> events.size() == 5);
      assertEquals(List.of("503 14", "401 16", "200 0", "429 14", "404 12"),
          events.stream().map(e -> e.getInteger("status") + " " + e.getInteger("grpc_status")).toList(),
          "each call's status and gRPC status in its traffic event");
      io.vertx.core.json.JsonObject counts = gateway.stats().getJsonObject("requests_count");
      assertEquals(1, counts.getLong("success"), "/stats: " + counts);
      assertEquals(4, counts.getLong("error"), "/stats: " + counts);
      String metrics = gateway.admin("/metrics").body();
      for (String line : List.of(
          "gateway_grpc_calls_total{backend=\"gone\",grpc_code=\"UNAVAILABLE\","
              + "route=\"/grpc.testing.SimpleService/UnaryRpc\"} 1.0",
          "gateway_grpc_calls_total{backend=\"simple\",grpc_code=\"UNAUTHENTICATED\","
              + "route=\"/grpc.testing.SimpleService/ClientStreamingRpc\"} 1.0",
          "gateway_grpc_calls_total{backend=\"simple\",grpc_code=\"OK\","
              + "route=\"/grpc.testing.SimpleService/ServerStreamingRpc\"} 1.0",
          "gateway_grpc_calls_total{backend=\"simple\",grpc_code=\"UNAVAILABLE\","
              + "route=\"/grpc.testing.SimpleService/ServerStreamingRpc\"} 1.0",
          "gateway_grpc_calls_total{backend=\"none\",grpc_code=\"UNIMPLEMENTED\",route=\"none\"} 1.0")) {
        assertTrue(metrics.contains(line), line + " in /metrics:\n" + metrics);
      }
      assertEquals(List.of(), errors.lines());
    } finally {
      errors.close();
      up.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** How a streaming call that sends one message and ends failed (it must fail). */
  private static Throwable streamFailure(java.util.function.Function<io.grpc.stub.StreamObserver<SimpleResponse>,
      io.grpc.stub.StreamObserver<SimpleRequest>> call) throws Exception {
    java.util.concurrent.CompletableFuture<Throwable> failed = new java.util.concurrent.CompletableFuture<>();
    io.grpc.stub.StreamObserver<SimpleRequest> out = call.apply(new io.grpc.stub.StreamObserver<SimpleResponse>() {
      @Override
      public void onNext(SimpleResponse value) {
      }

      @Override
      public void onError(Throwable t) {
        failed.complete(t);
      }

      @Override
      public void onCompleted() {
        failed.completeExceptionally(new AssertionError("the call succeeded"));
      }
    });
    out.onNext(request("x"));
    out.onCompleted();
    return failed.get(10, TimeUnit.SECONDS);
  }

  /** The status a call failed with (it must fail). */
  private static Status failure(org.junit.jupiter.api.function.Executable call) {
    return org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class, call).getStatus();
  }

  /**
   * An HTTP/1.1 backend's chunked answer with trailer fields: an HTTP/1.1 client that sent TE: trailers reads
   * them after the last chunk, an HTTP/2 client as trailing HEADERS; hop-by-hop and framing fields among them
   * are dropped.
   */
  @Test
  void trailersOfAnHttp1BackendReachHttp1AndHttp2Clients() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      HttpServer server = vertx.createHttpServer().requestHandler(req -> req.response().setChunked(true)
          .putTrailer("x-checksum", "abc123").putTrailer("content-length", "99")
          .end("body")).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      String yaml = everythingTo(server.actualPort(), "http1");
      try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", yaml, 1)) {
        String raw = exchange(gateway.port(),
            "GET /t HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nConnection: TE, close\r\n\r\n");
        String lower = raw.toLowerCase(java.util.Locale.ROOT);
        assertTrue(lower.contains("transfer-encoding: chunked"), raw);
        assertTrue(lower.endsWith("\r\n4\r\nbody\r\n0\r\nx-checksum: abc123\r\n\r\n"),
            "the trailer follows the last chunk, content-length among trailers dropped: " + raw);
        String without = exchange(gateway.port(), "GET /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertTrue(without.endsWith("\r\n4\r\nbody\r\n0\r\n\r\n"),
            "no trailers to an HTTP/1.1 client that did not ask for them (TE: trailers): " + without);

        io.vertx.core.http.HttpClient h2 = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
            .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
        String trailers = h2.request(io.vertx.core.http.HttpMethod.GET, gateway.port(), "127.0.0.1", "/t")
            // the body asked for in the callback that sends (see TlsIT.send): an answer read first would lose its end
            .compose(req -> req.send()
                .compose(r -> r.body().map(b -> b + " " + r.trailers().get("x-checksum") + " " + r.trailers().size())))
            .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals("body abc123 1", trailers);
      }
    } finally {
      vertx.close();
    }
  }

  /**
   * A backend with {@code protocol: http2} that is not gRPC (a Vert.x server, h2c): HTTP/1.1 clients' requests
   * reach it in HTTP/2, bodies intact, with te: trailers only when the client sent TE: trailers and no hop-by-hop
   * header; an answer of a declared length with trailer fields reaches an HTTP/2 client whole, trailers included.
   */
  @Test
  void anHttp2BackendIsSpokenToInHttp2() throws Exception {
    Vertx vertx = Vertx.vertx();
    BlockingQueue<String> seen = new LinkedBlockingQueue<>();
    java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger();
    try {
      HttpServer server = vertx.createHttpServer().connectionHandler(c -> {
            connections.incrementAndGet();
            open.incrementAndGet();
            c.closeHandler(v -> open.decrementAndGet());
          })
          .requestHandler(req -> req.body().onSuccess(body -> {
        seen.add(req.version() + " " + req.method() + " " + req.uri() + " te=" + req.getHeader("te") + " keep-alive="
            + req.getHeader("keep-alive") + " x-stays=" + req.getHeader("x-stays") + " body=" + body);
        if (req.path().equals("/chunked")) {
          req.response().write("hello"); // no length (end(body) would set one): chunked toward HTTP/1.1
          req.response().putTrailer("x-checksum", "c0ffee").end();
          return;
        }
        req.response().putHeader("content-length", "5").putTrailer("x-checksum", "c0ffee").end("hello");
      })).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      String yaml = everythingTo(server.actualPort(), "http2");
      try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", yaml, 1)) {
        String answer = exchange(gateway.port(), "POST /up?q=1 HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n"
            + "Connection: TE, Keep-Alive, close\r\nKeep-Alive: timeout=5\r\nX-Stays: yes\r\nContent-Length: 3\r\n\r\nabc");
        assertTrue(answer.startsWith("HTTP/1.1 200") && answer.endsWith("hello"), answer);
        assertEquals("HTTP_2 POST /up?q=1 te=trailers keep-alive=null x-stays=yes body=abc", seen.poll(5, TimeUnit.SECONDS));
        String plain = exchange(gateway.port(), "GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertTrue(plain.startsWith("HTTP/1.1 200"), plain);
        assertEquals("HTTP_2 GET /plain te=null keep-alive=null x-stays=null body=", seen.poll(5, TimeUnit.SECONDS));

        io.vertx.core.http.HttpClient h2 = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
            .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
        String got = h2.request(io.vertx.core.http.HttpMethod.GET, gateway.port(), "127.0.0.1", "/h2")
            .compose(req -> req.send().compose(r -> r.body().map(b -> b + " " + r.trailers().get("x-checksum"))))
            .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals("hello c0ffee", got);
        // Its trailers reach an HTTP/1.1 client after the last chunk only when it asked for them (TE: trailers).
        String asked = exchange(gateway.port(), "GET /chunked HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n"
            + "Connection: TE, close\r\n\r\n");
        assertTrue(asked.endsWith("\r\n0\r\nx-checksum: c0ffee\r\n\r\n"), asked);
        String notAsked = exchange(gateway.port(), "GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertTrue(notAsked.endsWith("\r\nhello\r\n0\r\n\r\n"), notAsked);
        seen.clear();
        Poll.until(Duration.ofSeconds(5), "/stats counts the 5 requests", () -> gateway.statsTotal() == 5);

        // A burst of 40 requests (HTTP/1.1, new connections to the gateway) finding no connection to the instance yet
        // (its first one idled out): one connection carries them all.
        Poll.until(Duration.ofSeconds(5), "the backend connection closed after keep_alive_timeout_s (1 s)",
            () -> open.get() == 0);
        int before = connections.get();
        List<java.util.concurrent.CompletableFuture<String>> burst = new ArrayList<>();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(40);
        try {
          for (int i = 0; i < 40; i++) {
            burst.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
              try {
                return exchange(gateway.port(), "GET /burst HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            }, pool));
          }
          for (java.util.concurrent.CompletableFuture<String> each : burst) {
            assertTrue(each.get(10, TimeUnit.SECONDS).startsWith("HTTP/1.1 200"));
          }
        } finally {
          pool.shutdownNow();
        }
        assertEquals(1, connections.get() - before, "one backend connection for the burst");
      }
    } finally {
      vertx.close();
    }
  }


  /**
   * Health checks in gRPC's health protocol (type grpc), against grpc-java's own health service: of two
   * instances, the one whose service is NOT_SERVING gets no call, and the calls move when the two swap; a
   * server without the health service fails its checks (UNIMPLEMENTED).
   */
  @Test
  void grpcHealthChecksTakeInstancesOutOfRotationAndBack() throws Exception {
    io.grpc.protobuf.services.HealthStatusManager healthA = new io.grpc.protobuf.services.HealthStatusManager();
    io.grpc.protobuf.services.HealthStatusManager healthB = new io.grpc.protobuf.services.HealthStatusManager();
    Server a = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new Service("a")).addService(healthA.getHealthService()).build().start();
    Server b = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new Service("b")).addService(healthB.getHealthService()).build().start();
    String service = "grpc.testing.SimpleService";
    healthA.setStatus(service, io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    healthB.setStatus(service, io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
    String yaml = simpleService("""
            load_balancer: round_robin
            targets: ["http://127.0.0.1:%d", "http://127.0.0.1:%d", "http://127.0.0.1:%d"]
            health_check: {type: grpc, service: %s, interval_ms: 250, timeout_ms: 250, healthy_threshold: 1, unhealthy_threshold: 1}
        """.formatted(a.getPort(), b.getPort(), backend.getPort(), service));
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", yaml, 1)) {
      SimpleServiceGrpc.SimpleServiceBlockingStub stub = blocking(gateway);
      java.util.function.Supplier<java.util.Set<String>> answering = () -> {
        java.util.Set<String> seen = new java.util.TreeSet<>();
        for (int i = 0; i < 6; i++) {
          seen.add(stub.withDeadlineAfter(5, TimeUnit.SECONDS).unaryRpc(request("hi")).getResponseMessage());
        }
        return seen;
      };
      // The third instance has no health service: it never passes.
      Poll.until(Duration.ofSeconds(5), "only a passes its checks", () -> answering.get().equals(java.util.Set.of("a echo: hi")));
      healthA.setStatus(service, io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
      healthB.setStatus(service, io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
      Poll.until(Duration.ofSeconds(5), "the calls move to b", () -> answering.get().equals(java.util.Set.of("b echo: hi")));
    } finally {
      a.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      b.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static String exchange(int port, String request) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream read = new ByteArrayOutputStream();
      byte[] buffer = new byte[8192];
      for (int n; (n = in.read(buffer)) >= 0; ) {
        read.write(buffer, 0, n);
      }
      return read.toString(StandardCharsets.ISO_8859_1);
    }
  }

  /** What a call's observer receives, one item at a time: messages, then "completed" or the error's status. */
  private static final class Collector implements StreamObserver<SimpleResponse> {
    private final BlockingQueue<String> items = new LinkedBlockingQueue<>();

    @Override
    public void onNext(SimpleResponse value) {
      items.add(value.getResponseMessage());
    }

    @Override
    public void onError(Throwable t) {
      items.add("error " + Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      items.add("completed");
    }

    String next() throws InterruptedException {
      String item = items.poll(10, TimeUnit.SECONDS);
      assertNotNull(item, "nothing arrived within 10 s");
      return item;
    }
  }

  /** The server's side of the test service; {@code name} prefixes its unary answers when not empty. */
  private static final class Service extends SimpleServiceGrpc.SimpleServiceImplBase {
    /** Endless streams the server saw cancelled. */
    static final java.util.concurrent.atomic.AtomicInteger cancelled = new java.util.concurrent.atomic.AtomicInteger();
    private static final java.util.concurrent.ScheduledExecutorService TICKS =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "grpc-it-ticks");
          t.setDaemon(true);
          return t;
        });
    private final String name;

    /** A message every 50 ms until the call is cancelled. */
    private static void endless(io.grpc.stub.ServerCallStreamObserver<SimpleResponse> out, int n) {
      if (out.isCancelled()) {
        cancelled.incrementAndGet();
        return;
      }
      out.onNext(response("message " + n));
      TICKS.schedule(() -> endless(out, n + 1), 50, TimeUnit.MILLISECONDS);
    }

    Service() {
      this("");
    }

    Service(String name) {
      this.name = name;
    }

    @Override
    public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
      if (request.getRequestMessage().equals("missing")) {
        Metadata trailers = new Metadata();
        trailers.put(CHECKSUM, "7");
        out.onError(Status.NOT_FOUND.withDescription("no such thing: missing").asRuntimeException(trailers));
        return;
      }
      out.onNext(response((name.isEmpty() ? "" : name + " ") + "echo: " + request.getRequestMessage()));
      out.onCompleted();
    }

    @Override
    public void serverStreamingRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
      if (request.getRequestMessage().equals("endless")) {
        endless((io.grpc.stub.ServerCallStreamObserver<SimpleResponse>) out, 0);
        return;
      }
      if (request.getRequestMessage().equals("paced")) { // three messages 1.5 s apart, nothing between them
        for (int i = 0; i < 3; i++) {
          int n = i;
          TICKS.schedule(() -> {
            out.onNext(response("paced " + n));
            if (n == 2) {
              out.onCompleted();
            }
          }, 1500L * i, TimeUnit.MILLISECONDS);
        }
        return;
      }
      if (request.getRequestMessage().equals("late")) { // the head goes with the first message, 2.5 s from now
        TICKS.schedule(() -> {
          out.onNext(response("late message"));
          out.onCompleted();
        }, 2500, TimeUnit.MILLISECONDS);
        return;
      }
      String[] words = request.getRequestMessage().split(" ");
      int count = Integer.parseInt(words[0]);
      for (int i = 0; i < count; i++) {
        out.onNext(response("message " + i));
      }
      if (words.length > 1) {
        out.onError(Status.ABORTED.withDescription("gave up after " + count).asRuntimeException());
      } else {
        out.onCompleted();
      }
    }

    @Override
    public StreamObserver<SimpleRequest> clientStreamingRpc(StreamObserver<SimpleResponse> out) {
      return new StreamObserver<>() {
        int count;

        @Override
        public void onNext(SimpleRequest value) {
          count++;
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
          out.onNext(response(count + " messages"));
          out.onCompleted();
        }
      };
    }

    @Override
    public StreamObserver<SimpleRequest> bidiStreamingRpc(StreamObserver<SimpleResponse> out) {
      out.onNext(response("hello, who is there?"));
      return new StreamObserver<>() {
        @Override
        public void onNext(SimpleRequest value) {
          out.onNext(response("echo: " + value.getRequestMessage()));
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
          out.onCompleted();
        }
      };
    }

    private static SimpleResponse response(String text) {
      return SimpleResponse.newBuilder().setResponseMessage(text).build();
    }
  }
}
