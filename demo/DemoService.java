import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * One of the demo's services (users, orders or payment, from DEMO_SERVICE): a few JSON records
 * under /api/NAME, one by id under /api/NAME/ID, /health, and for payment POST /api/payment. Listens
 * on DEMO_HOST:DEMO_PORT (default 0.0.0.0:8080). Every answer names the container in X-Served-By.
 * The JDK's own HTTP server, no dependency: javac builds it in the demo image.
 */
public final class DemoService {

  private static final Logger LOG = Logger.getLogger(DemoService.class.getName());

  /** The records of each service, by id, as JSON objects. */
  static final Map<String, Map<String, String>> DATA = Map.of(
      "users", records(
          "1", "{\"id\":1,\"name\":\"Ada Lovelace\",\"email\":\"ada@example.com\"}",
          "2", "{\"id\":2,\"name\":\"Alan Turing\",\"email\":\"alan@example.com\"}",
          "3", "{\"id\":3,\"name\":\"Grace Hopper\",\"email\":\"grace@example.com\"}"),
      "orders", records(
          "101", "{\"id\":101,\"user_id\":1,\"item\":\"notebook\",\"quantity\":2,\"total\":12.50}",
          "102", "{\"id\":102,\"user_id\":2,\"item\":\"fountain pen\",\"quantity\":1,\"total\":48.00}",
          "103", "{\"id\":103,\"user_id\":1,\"item\":\"ink\",\"quantity\":3,\"total\":9.75}"),
      "payment", records(
          "p-1001", "{\"id\":\"p-1001\",\"order_id\":101,\"amount\":12.50,\"status\":\"settled\"}",
          "p-1002", "{\"id\":\"p-1002\",\"order_id\":102,\"amount\":48.00,\"status\":\"pending\"}"));

  private final String name;
  private final String prefix;
  private final String servedBy;
  private final AtomicInteger nextPayment = new AtomicInteger(2001);

  DemoService(String name, String servedBy) {
    this.name = name;
    this.prefix = "/api/" + name;
    this.servedBy = servedBy;
  }

  public static void main(String[] args) throws IOException {
    String name = env("DEMO_SERVICE", "users");
    if (!DATA.containsKey(name)) {
      throw new IllegalArgumentException("DEMO_SERVICE must be one of " + DATA.keySet() + ", not " + name);
    }
    String host = env("DEMO_HOST", "0.0.0.0");
    int port = Integer.parseInt(env("DEMO_PORT", "8080"));
    DemoService service = new DemoService(name, env("HOSTNAME", name));
    HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 64);
    server.createContext("/", service::handle);
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.start();
    LOG.info(name + " listening on " + host + ":" + port);
  }

  void handle(HttpExchange exchange) throws IOException {
    try (exchange; InputStream body = exchange.getRequestBody()) {
      String path = exchange.getRequestURI().getPath();
      String method = exchange.getRequestMethod();
      byte[] request = body.readAllBytes();
      if (path.equals("/health")) {
        answer(exchange, 200, "{\"status\":\"UP\"}");
      } else if (!path.equals(prefix) && !path.startsWith(prefix + "/")) {
        answer(exchange, 404, "{\"error\":\"no such path\",\"path\":\"" + escape(path) + "\"}");
      } else if (method.equals("POST") && name.equals("payment") && path.equals(prefix)) {
        pay(exchange, new String(request, StandardCharsets.UTF_8));
      } else if (!method.equals("GET") && !method.equals("HEAD")) {
        exchange.getResponseHeaders().set("Allow", name.equals("payment") ? "GET, HEAD, POST" : "GET, HEAD");
        answer(exchange, 405, "{\"error\":\"method not allowed\"}");
      } else if (path.equals(prefix) || path.equals(prefix + "/")) {
        answer(exchange, 200, "[" + String.join(",", DATA.get(name).values()) + "]");
      } else {
        String record = DATA.get(name).get(path.substring(prefix.length() + 1));
        answer(exchange, record == null ? 404 : 200, record == null ? "{\"error\":\"not found\"}" : record);
      }
    }
  }

  /** Accepts any JSON object as a payment request and answers with a new payment id. */
  private void pay(HttpExchange exchange, String request) throws IOException {
    String trimmed = request.trim();
    if (!trimmed.startsWith("{") || !trimmed.endsWith("}")) {
      answer(exchange, 400, "{\"error\":\"a JSON object is expected\"}");
      return;
    }
    String id = "p-" + nextPayment.getAndIncrement();
    answer(exchange, 201, "{\"id\":\"" + id + "\",\"status\":\"accepted\",\"request\":" + trimmed + "}");
  }

  private void answer(HttpExchange exchange, int status, String json) throws IOException {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.getResponseHeaders().set("X-Served-By", servedBy);
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
    if (!head) {
      exchange.getResponseBody().write(bytes);
    }
  }

  private static Map<String, String> records(String... idsAndJson) {
    Map<String, String> records = new LinkedHashMap<>();
    for (int i = 0; i < idsAndJson.length; i += 2) {
      records.put(idsAndJson[i], idsAndJson[i + 1]);
    }
    return records;
  }

  private static String escape(String text) {
    return text.replace("\\", "\\\\").replace("\"", "\\\"");
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }
}
