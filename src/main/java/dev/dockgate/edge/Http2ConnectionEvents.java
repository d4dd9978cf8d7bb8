package dev.dockgate.edge;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Stream;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpConnection;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * What Netty's HTTP/2 codec does to a client connection on its own, told to the gateway: a GOAWAY ENHANCE_YOUR_CALM
 * (a flood, {@link Http2Floods}, or Netty's limits on RST_STREAM frames) is logged, paced; a 431 to a header list
 * over the limit, answered before any request exists, is handed over to be counted as the HTTP/1 431 is. Called on
 * the connection's event loop.
 */
final class Http2ConnectionEvents extends Http2ConnectionAdapter {

  private static final Logger LOG = Logger.getLogger(EdgeGuard.class.getName());
  /** All listeners together: a flood from many connections says so once in 10 s. */
  private static final LogPace CALMED = new LogPace(10, TimeUnit.SECONDS);

  private final HttpConnection connection;
  private final Handler<HttpConnection> headerListTooLarge;
  private final Http2Floods floods;
  /** Stream 1 of a connection upgraded from HTTP/1.1 (h2c): its head came over HTTP/1.1, not in a HEADERS frame. */
  private final boolean upgraded;

  private Http2ConnectionEvents(HttpConnection connection, Http2Connection h2, Http2Floods floods,
      Handler<HttpConnection> headerListTooLarge) {
    this.connection = connection;
    this.floods = floods;
    this.headerListTooLarge = headerListTooLarge;
    this.upgraded = h2.stream(1) != null;
  }

  /**
   * {@code headerListTooLarge}: told of each 431 Netty answers (null: nobody); {@code floods}, the connection's frame
   * count, knows which streams had their head read (null: no 431 is told).
   */
  static void install(HttpConnection connection, Http2Connection h2, Http2Floods floods,
      Handler<HttpConnection> headerListTooLarge) {
    h2.addListener(new Http2ConnectionEvents(connection, h2, floods, floods == null ? null : headerListTooLarge));
  }

  @Override
  public void onGoAwaySent(int lastStreamId, long errorCode, ByteBuf debugData) {
    if (errorCode != Http2Error.ENHANCE_YOUR_CALM.code()) {
      return;
    }
    CALMED.count();
    if (CALMED.due()) {
      String why = debugData == null ? "" : debugData.toString(StandardCharsets.UTF_8);
      LOG.warning("HTTP/2 connection from " + connection.remoteAddress() + " closed with GOAWAY ENHANCE_YOUR_CALM: "
          + why + " (" + CALMED.takeCount() + " such connections since the last such line)");
    }
  }

  /**
   * A client's stream that closed with a head sent whose own head was never read: Netty's 431, for a header block it
   * refused to decode (a stream made only to answer it).
   */
  @Override
  public void onStreamClosed(Http2Stream stream) {
    int id = stream.id();
    if (headerListTooLarge != null && stream.isHeadersSent() && (id & 1) == 1 && floods.headUnread(stream)
        && !(upgraded && id == 1)) {
      headerListTooLarge.handle(connection);
    }
  }
}
