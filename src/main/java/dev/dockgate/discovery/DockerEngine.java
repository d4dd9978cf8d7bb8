package dev.dockgate.discovery;

import dev.dockgate.HttpClients;
import dev.dockgate.NetworkTransport;
import dev.dockgate.config.DockerConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.parsetools.RecordParser;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * A thin async client of the Docker Engine API over a unix socket or TCP. Uses unversioned paths,
 * so engines both older (API 1.41) and newer (minimum 1.44) answer. Call from one event loop.
 *
 * <p>A gateway on the io_uring transport cannot open unix sockets (Vert.x 5.0's io_uring transport
 * has none), so for a {@code unix://} engine it talks through a one-thread Vert.x of its own on epoll
 * or NIO; results and events are handed back to the caller's context, so callers see no difference.
 * Once {@link #close} has begun, calls fail with {@link Closed} instead of reaching the closed client.
 */
public final class DockerEngine {

  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(DockerEngine.class.getName());

  private static final HttpClientOptions CLIENT_OPTIONS = new HttpClientOptions()
      .setConnectTimeout(2_000)
      .setKeepAlive(true);

  /**
   * Container events, and network events: {@code docker network connect} and {@code disconnect} change a running
   * container's addresses and send no container event.
   */
  private static final String EVENT_FILTER = URLEncoder.encode(
      "{\"type\":[\"container\",\"network\"]}", StandardCharsets.UTF_8);

  /** How long the engine may take to answer the opening of the event stream (a hung engine accepts and stays silent). */
  static final long EVENTS_ANSWER_MS = 10_000;

  /** How long the engine may stay silent in the answer to a listing or an inspection, its head or its body. */
  static final long ANSWER_IDLE_MS = 10_000;

  /** The largest body of a listing or an inspection the gateway reads: an engine sending more must not fill the heap. */
  static final int MAX_BODY_BYTES = 32 << 20;

  /** The longest line of the event stream the gateway reads (an event is well under 10 KB). */
  static final int MAX_EVENT_BYTES = 1 << 20;

  /** Set at once when the caller's Vert.x reaches the engine, else once the engine's own Vert.x is up. */
  private volatile HttpClient client;
  /** The Vert.x {@link #client} runs on, for the timer bounding the event stream's answer. */
  private volatile Vertx clientVertx;
  /** The engine's own Vert.x and its context; null when the caller's Vert.x reaches the engine. */
  private final Future<Side> side;
  private final Context caller;
  private final SocketAddress server;
  private final String hostHeader;
  private final String reachableHost;

  /** Set by {@link #close}: later calls fail at once (a container event may arrive while the gateway stops). */
  private volatile boolean closing;

  private record Side(Vertx vertx, Context context) {
  }

  /** The failure of a call made while, or after, the client closes. */
  public static final class Closed extends IllegalStateException {
    Closed() {
      super("docker client closed");
    }
  }

  /** An open event stream: {@link #close} ends its connection to the engine, and nothing more is delivered. */
  public final class EventStream {
    private HttpClientResponse response;
    private boolean closed;

    /** Ends the stream; its handlers are called no more. Safe to call more than once. */
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      onEngineSide(() -> {
        response.handler(null).exceptionHandler(null).endHandler(null);
        return response.request().connection().close();
      }, true);
    }
  }

  /** A client of {@code engine}; over TLS when it has {@code tls} (its certificate verified against the CA and its host). */
  public DockerEngine(Vertx vertx, DockerConfig.Engine engine) {
    this.reachableHost = engine.reachableHost();
    if (engine.unix() && !NetworkTransport.supportsDomainSockets(vertx)) {
      this.caller = vertx.getOrCreateContext();
      this.side = startOwnVertx();
    } else {
      this.caller = null;
      this.side = null;
      this.client = HttpClients.create(vertx, clientOptions(engine), LOG);
      this.clientVertx = vertx;
    }
    if (engine.unix()) {
      this.server = SocketAddress.domainSocketAddress(engine.host().substring("unix://".length()));
      this.hostHeader = "localhost";
    } else {
      URI uri = URI.create(engine.host());
      int port = uri.getPort() > 0 ? uri.getPort() : DockerConfig.Engine.DEFAULT_TCP_PORT;
      this.server = SocketAddress.inetSocketAddress(port, uri.getHost());
      this.hostHeader = uri.getHost();
    }
  }

  /**
   * Over TCP, with keep-alive probes (SO_KEEPALIVE, at the system's timing: Vert.x 5.0 sets no other), which keep
   * the quiet event stream's connection known to firewalls and NAT on the way and end it once its peer is gone for
   * the kernel; the importer's liveness check is what bounds how long a silent engine goes unnoticed.
   */
  private static HttpClientOptions clientOptions(DockerConfig.Engine engine) {
    if (engine.unix()) {
      return CLIENT_OPTIONS;
    }
    HttpClientOptions options = new HttpClientOptions(CLIENT_OPTIONS).setTcpKeepAlive(true);
    DockerConfig.Tls tls = engine.tls();
    if (tls == null) {
      return options;
    }
    options
        .setSsl(true)
        .setVerifyHost(true)
        .setTrustOptions(new PemTrustOptions().addCertPath(tls.caFile()));
    if (tls.certFile() != null) {
      options.setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certFile()).setKeyPath(tls.keyFile()));
    }
    return options;
  }

  /**
   * Why the TLS handshake failed when {@code failure} is a refused one (an untrusted or misnamed
   * certificate, a missing client one): the innermost cause's message, which names the reason; else null.
   */
  public static String tlsRefusal(Throwable failure) {
    boolean tls = false;
    Throwable innermost = failure;
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof io.netty.handler.ssl.SslHandshakeTimeoutException) {
        return null; // no answer to the handshake: a silent engine (frozen, its host gone), not a refusal
      }
      tls |= t instanceof javax.net.ssl.SSLException || t instanceof java.security.cert.CertificateException;
      innermost = t;
    }
    if (!tls) {
      return null;
    }
    return innermost.getMessage() == null ? innermost.getClass().getSimpleName() : innermost.getMessage();
  }

  /**
   * Why an attempt to reach the engine failed, for the log and {@code last_error}: "no such socket"
   * for a unix socket path that does not exist (the native transports fail its connect with a bare
   * FileNotFoundException, whose message is null), else the first message along the causes, else the
   * exception's class; never null.
   */
  public static String reason(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof java.io.FileNotFoundException) {
        return t.getMessage() == null || t.getMessage().isBlank() ? "no such socket" : "no such socket: " + t.getMessage();
      }
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        return t.getMessage();
      }
    }
    return failure.getClass().getName();
  }

  /** The host on which this engine's published ports and host-network containers are reached. */
  public String reachableHost() {
    return reachableHost;
  }

  /**
   * One listing: the running containers ({@code running}), less those paused ({@code docker pause}: processes
   * frozen while their sockets still accept, so a request sent there waits for its timeout) and those restarting,
   * which the engine lists too; {@code listed}: the ids of every container listed, those included (a container
   * restarting in a loop stays listed between its runs); {@code health}: the HEALTHCHECK status the listing shows for
   * each running container ({@link ContainerInfo#listedHealth}), none for one it shows no readable status of.
   */
  public record Listing(List<ContainerInfo> running, java.util.Set<String> listed, java.util.Map<String, String> health) {
  }

  /**
   * The engine's {@link Listing}. A container's {@code pause} and {@code unpause} events bring a new listing, so it
   * leaves and rejoins at once.
   */
  public Future<Listing> listRunning() {
    return onEngineSide(() -> get("/containers/json")
        .compose(response -> response.statusCode() == 200
            ? body(response)
            : body(response).compose(body -> Future.failedFuture(
                new IllegalStateException("GET /containers/json answered " + response.statusCode() + ": " + body))))
        .map(body -> {
          JsonArray array = body.toJsonArray();
          List<ContainerInfo> running = new ArrayList<>(array.size());
          java.util.Set<String> listed = new java.util.HashSet<>();
          java.util.Map<String, String> health = new java.util.HashMap<>();
          for (int i = 0; i < array.size(); i++) {
            JsonObject container = array.getJsonObject(i);
            listed.add(container.getString("Id", ""));
            String state = container.getString("State", "running");
            if ("running".equals(state)) {
              ContainerInfo c = ContainerInfo.fromListJson(container);
              running.add(c);
              String shown = ContainerInfo.listedHealth(container);
              if (shown != null) {
                health.put(c.id(), shown);
              }
            }
          }
          return new Listing(running, listed, health);
        }));
  }

  /**
   * What inspecting a container tells (its HEALTHCHECK status, see {@link ContainerInfo#healthOf}, and its stop
   * signal); {@link ContainerInfo#STARTING} and no stop signal for a container gone meanwhile (404), which the
   * next listing drops.
   */
  public Future<ContainerInfo.Inspected> inspect(String id) {
    return onEngineSide(() -> get("/containers/" + URLEncoder.encode(id, StandardCharsets.UTF_8) + "/json")
        .compose(response -> body(response).compose(body -> switch (response.statusCode()) {
          case 200 -> Future.succeededFuture(ContainerInfo.Inspected.of(body.toJsonObject()));
          case 404 -> Future.succeededFuture(new ContainerInfo.Inspected(ContainerInfo.STARTING, -1, List.of()));
          default -> Future.failedFuture(new IllegalStateException(
              "GET /containers/" + id + "/json answered " + response.statusCode() + ": " + body));
        })));
  }

  /**
   * The engine's liveness: {@code GET /_ping}, the lightest call of its API, failed when not answered within the
   * bounds of every call ({@link #ANSWER_IDLE_MS} for its head, as long for its body) or answered with a 5xx (a proxy
   * before an engine that is gone); any other answer, a proxy's 403 included, shows the engine there.
   */
  public Future<Void> ping() {
    return onEngineSide(() -> get("/_ping")
        .compose(response -> body(response).compose(body -> response.statusCode() >= 500
            ? Future.failedFuture(new IllegalStateException("GET /_ping answered " + response.statusCode()))
            : Future.succeededFuture())));
  }

  /**
   * Opens the container event stream, from the events the engine still holds since {@code sinceNanos} (an event's
   * {@code timeNano}) when above 0. The returned future completes once the engine accepted the
   * stream; {@code ended} is called once when the stream closes or fails, unless the caller closed it.
   */
  public Future<EventStream> followEvents(long sinceNanos, Handler<JsonObject> onEvent, Handler<Throwable> ended) {
    EventStream stream = new EventStream();
    Handler<JsonObject> events = toCaller(event -> {
      if (!stream.closed) {
        onEvent.handle(event);
      }
    });
    Handler<Throwable> end = toCaller(cause -> {
      if (!stream.closed) {
        stream.closed = true;
        ended.handle(cause);
      }
    });
    return onEngineSide(() -> openEvents(sinceNanos, events, end)).map(response -> {
      stream.response = response;
      return stream;
    });
  }

  private Future<HttpClientResponse> openEvents(long sinceNanos, Handler<JsonObject> onEvent, Handler<Throwable> ended) {
    // No idle timeout: the stream may stay quiet for hours (the importer's liveness check notices a silent engine,
    // in another connection). Its answer is bounded, so that an attempt on an
    // engine that accepts connections but does not answer (hung, or stopped with SIGSTOP) fails and is retried.
    String since = sinceNanos <= 0 ? ""
        : "&since=" + sinceNanos / 1_000_000_000 + "." + String.format("%09d", sinceNanos % 1_000_000_000);
    RequestOptions options = request("/events?filters=" + EVENT_FILTER + since).setIdleTimeout(0);
    return client.request(options)
        .compose(req -> {
          Promise<HttpClientResponse> answered = Promise.promise();
          long timer = clientVertx.setTimer(EVENTS_ANSWER_MS, id -> {
            answered.tryFail(new java.util.concurrent.TimeoutException(
                "GET /events not answered within " + EVENTS_ANSWER_MS + " ms"));
            req.reset(); // closes the connection
          });
          req.send().onComplete(ar -> {
            clientVertx.cancelTimer(timer);
            if (ar.succeeded()) {
              answered.tryComplete(ar.result());
            } else {
              answered.tryFail(ar.cause());
            }
          });
          return answered.future();
        })
        .compose(response -> {
          if (response.statusCode() != 200) {
            return Future.failedFuture(new IllegalStateException("GET /events answered " + response.statusCode()));
          }
          RecordParser lines = RecordParser.newDelimited("\n", line -> {
            if (line.length() > 0) {
              onEvent.handle(line.toJsonObject());
            }
          }).maxRecordSize(MAX_EVENT_BYTES);
          lines.exceptionHandler(tooLong -> {
            ended.handle(new IllegalStateException("GET /events sent a line longer than " + MAX_EVENT_BYTES + " bytes"));
            response.request().reset(); // closes the connection
          });
          response.handler(lines);
          response.exceptionHandler(ended::handle);
          response.endHandler(v -> ended.handle(new IllegalStateException("event stream closed by the engine")));
          return Future.succeededFuture(response);
        });
  }

  public Future<Void> close() {
    closing = true;
    if (side == null) {
      return client.close();
    }
    return side.transform(ar -> ar.failed() ? Future.succeededFuture()
        : onEngineSide(() -> client.close(), true).eventually(() -> closeOwnVertx(ar.result().vertx())));
  }

  /**
   * Closes the engine's own Vert.x and reports back on the caller's context, unless the caller's
   * Vert.x has stopped meanwhile (the gateway shutting down closes both at once): then nobody waits,
   * and handing the result to a stopped event loop would only print a rejected-task stack trace.
   */
  private Future<Void> closeOwnVertx(Vertx own) {
    Promise<Void> closed = Promise.promise();
    own.close().onComplete(ar -> onCaller(closed::complete));
    return closed.future();
  }

  /**
   * Runs {@code task} on the caller's context, unless the caller's Vert.x has stopped (the gateway
   * shutting down closes both at once): then nobody is waiting, and handing work to a stopped event
   * loop would only print a rejected-task stack trace.
   */
  private void onCaller(Runnable task) {
    try {
      caller.runOnContext(v -> task.run());
    } catch (java.util.concurrent.RejectedExecutionException callerStopped) {
      // the gateway's Vert.x is gone: there is no one left to tell
    }
  }

  /**
   * A one-thread Vert.x on epoll (else NIO), both of which reach unix sockets, started on a thread of
   * its own: creating a Vert.x on an event loop would log a warning, and starting one takes a while.
   */
  private Future<Side> startOwnVertx() {
    Promise<Side> started = Promise.promise();
    Thread starter = new Thread(() -> {
      try {
        Vertx own = Vertx.builder()
            .with(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1).setInternalBlockingPoolSize(1))
            .withTransport(NetworkTransport.withDomainSockets())
            .build();
        client = HttpClients.create(own, CLIENT_OPTIONS, LOG);
        clientVertx = own;
        Side ready = new Side(own, own.getOrCreateContext());
        caller.runOnContext(v -> started.complete(ready));
      } catch (RuntimeException e) {
        caller.runOnContext(v -> started.fail(e));
      }
    }, "docker-engine-start");
    starter.setDaemon(true);
    starter.start();
    return started.future();
  }

  /** Runs a call on the engine's own loop, if it has one, and completes on the caller's context. */
  private <T> Future<T> onEngineSide(Supplier<Future<T>> call) {
    return onEngineSide(call, false);
  }

  /**
   * As above; a call made once closing has begun fails with {@link Closed} unless it is part of the
   * closing ({@code closingCall}), and so does one that reaches the client after it closed.
   */
  private <T> Future<T> onEngineSide(Supplier<Future<T>> call, boolean closingCall) {
    Supplier<Future<T>> guarded = () -> {
      if (closing && !closingCall) {
        return Future.failedFuture(new Closed());
      }
      try {
        return call.get();
      } catch (IllegalStateException clientClosed) {
        // Vert.x throws instead of failing when the client closed between the check and the call
        return Future.failedFuture(closing ? new Closed() : clientClosed);
      }
    };
    if (side == null) {
      return guarded.get();
    }
    return side.compose(own -> {
      Promise<T> result = Promise.promise();
      own.context().runOnContext(v -> guarded.get().onComplete(ar -> onCaller(() -> result.handle(ar))));
      return result.future();
    });
  }

  private <T> Handler<T> toCaller(Handler<T> handler) {
    return side == null ? handler : value -> onCaller(() -> handler.handle(value));
  }

  /**
   * The body of {@code response}, failed when the engine stays silent {@link #ANSWER_IDLE_MS} in it (its head came,
   * then nothing: the request's idle timeout no longer runs) or sends more than {@link #MAX_BODY_BYTES}; either
   * closes the connection.
   */
  private Future<Buffer> body(HttpClientResponse response) {
    return new BodyReader(response).read.future();
  }

  /** Reads one answer's body on the client's context, bounded in idle time and size. */
  private final class BodyReader {
    private final HttpClientResponse response;
    private final Promise<Buffer> read = Promise.promise();
    private final Buffer body = Buffer.buffer();
    private long lastData = System.nanoTime();
    private long timer;

    BodyReader(HttpClientResponse response) {
      this.response = response;
      response.handler(this::chunk).exceptionHandler(this::failed).endHandler(v -> {
        clientVertx.cancelTimer(timer);
        read.tryComplete(body);
      });
      timer = clientVertx.setTimer(ANSWER_IDLE_MS, this::checkIdle);
    }

    private void chunk(Buffer chunk) {
      if (read.future().isComplete()) {
        return;
      }
      lastData = System.nanoTime();
      if (body.length() + chunk.length() > MAX_BODY_BYTES) {
        giveUp(new IllegalStateException(call() + " answered a body larger than " + MAX_BODY_BYTES + " bytes"));
      } else {
        body.appendBuffer(chunk);
      }
    }

    private void checkIdle(long id) {
      long quietMs = (System.nanoTime() - lastData) / 1_000_000;
      if (read.future().isComplete()) {
        return;
      }
      if (quietMs >= ANSWER_IDLE_MS) {
        giveUp(new java.util.concurrent.TimeoutException(
            call() + ": the rest of the answer not received within " + ANSWER_IDLE_MS + " ms"));
      } else {
        timer = clientVertx.setTimer(ANSWER_IDLE_MS - quietMs, this::checkIdle);
      }
    }

    private void giveUp(Throwable why) {
      clientVertx.cancelTimer(timer);
      if (read.tryFail(why)) {
        response.request().reset(); // closes the connection
      }
    }

    private void failed(Throwable cause) {
      clientVertx.cancelTimer(timer);
      read.tryFail(cause);
    }

    private String call() {
      return "GET " + response.request().getURI();
    }
  }

  private Future<HttpClientResponse> get(String path) {
    return client.request(request(path)).compose(req -> req.send());
  }

  private RequestOptions request(String path) {
    return new RequestOptions()
        .setMethod(HttpMethod.GET)
        .setServer(server)
        .setHost(hostHeader)
        .setURI(path)
        .setIdleTimeout(ANSWER_IDLE_MS);
  }

}
