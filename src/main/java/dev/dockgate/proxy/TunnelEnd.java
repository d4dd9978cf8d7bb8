package dev.dockgate.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.util.concurrent.TimeUnit;

/**
 * Ends an upgrade tunnel's backend connection (plain or TLS) only after Vert.x has passed on what the backend sent before
 * closing it. io_uring reads up to a peer's close even while the tunnel applies back-pressure; Vert.x, paused,
 * keeps those reads in its connection's queue, and the connection's close, had it come at once, would have ended
 * the socket ahead of them: the last bytes were cut toward a slower client. With half-closure allowed, the
 * backend's close only ends the channel's input; the channel is closed once that queue is empty (checked every
 * {@link #CHECK_MS} ms), so the socket's end follows its last bytes.
 */
final class TunnelEnd extends ChannelInboundHandlerAdapter {

  private static final long CHECK_MS = 10;

  /** Vert.x's connection of the channel, whose private queue holds the reads not yet handed on. */
  private final Object connection;

  private TunnelEnd(Object connection) {
    this.connection = connection;
  }

  /** On {@code channel} (Vert.x's {@code connection}): half-closure, and this handler before Vert.x's. */
  static void install(Channel channel, Object connection) {
    if (UnreadReads.reachable(connection) && channel.pipeline().get("handler") != null) {
      channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
      channel.pipeline().addBefore("handler", "tunnel-end", new TunnelEnd(connection));
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      closeWhenPassedOn(ctx);
    }
    ctx.fireUserEventTriggered(evt);
  }

  private void closeWhenPassedOn(ChannelHandlerContext ctx) {
    if (!ctx.channel().isOpen()) {
      return;
    }
    if (UnreadReads.queued(connection)) {
      ctx.executor().schedule(() -> closeWhenPassedOn(ctx), CHECK_MS, TimeUnit.MILLISECONDS);
    } else {
      ctx.close();
    }
  }
}
