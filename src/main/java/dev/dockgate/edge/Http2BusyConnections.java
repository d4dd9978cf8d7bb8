package dev.dockgate.edge;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;

/**
 * An HTTP/2 client connection is idle only while no stream is open on it (as Envoy's connection {@code idle_timeout}
 * counts): a stream that is quiet but open (a gRPC server stream waiting for its next event, a bidirectional one
 * whose client sends rarely) keeps its connection, where Vert.x's idle timeout counts frames and closed the
 * connection, and every stream on it, after {@code idle_timeout_ms} without one. Streams have bounds of their own:
 * the answer deadline, the request body's (but for gRPC calls), and the stall of a client that stops reading.
 * Sits right after the connection's idle handler and drops its events while streams are open.
 */
final class Http2BusyConnections extends ChannelInboundHandlerAdapter {

  private final Http2ConnectionHandler h2;

  private Http2BusyConnections(Http2ConnectionHandler h2) {
    this.h2 = h2;
  }

  /** Installs the filter on an HTTP/2 connection's pipeline; false when it has no idle handler (no idle timeout). */
  static boolean install(ChannelPipeline pipeline, Http2ConnectionHandler h2) {
    ChannelHandlerContext idle = pipeline.context(IdleStateHandler.class);
    if (idle == null) {
      return false;
    }
    pipeline.addAfter(idle.name(), "idle-while-no-stream", new Http2BusyConnections(h2));
    return true;
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof IdleStateEvent && h2.connection().numActiveStreams() > 0) {
      return; // not idle: a stream is open
    }
    super.userEventTriggered(ctx, evt);
  }
}
