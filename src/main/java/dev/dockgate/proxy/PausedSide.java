package dev.dockgate.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.TimeUnit;

/**
 * Notices that the side of an upgrade tunnel the gateway has stopped reading reset its connection. The tunnel stops
 * reading one side while the other takes nothing of what it is sent (this handler's channel unwritable); on io_uring
 * a reset of the side not read then went unseen, and on epoll, where it is read, the tunnel's close still waited for
 * what Vert.x had read of that side to reach the other, which took nothing: the tunnel, and the other side's
 * connection (a backend's session), stayed until {@code idle_timeout_ms}, for ever at 0. While its channel is
 * unwritable this handler asks the kernel, every {@link #CHECK_MS} ms, for the state of the other side's connection
 * (TCP_INFO, io_uring and epoll) and closes the tunnel once it was reset or closed: the stall rule of
 * {@link UpgradeTunnel#CLOSE_GRACE_MS} then bounds the side that takes nothing. That rule itself only runs once the
 * tunnel closes: on an open tunnel it would cut slow readers, whose kernel takes bytes in large steps. Nothing per
 * byte: one check scheduled every {@link #CHECK_MS} ms, only while the channel is unwritable. A FIN sent behind bytes
 * the gateway does not read cannot be seen at all (the window is shut: it has not left the peer's kernel), nor a reset
 * on NIO (no TCP state): such a side is noticed when the tunnel idles out.
 */
final class PausedSide extends ChannelInboundHandlerAdapter {

  private static final long CHECK_MS = 250;
  /** Linux's TCP_CLOSE: a connection reset (or aborted) by its peer. */
  private static final int TCP_CLOSE = 7;

  /** The other side's channel: the one the tunnel stops reading while this one is unwritable. */
  private final Channel paused;
  private final Object info;
  /** Closes the tunnel (on its context). */
  private final Runnable gone;
  private ChannelHandlerContext ctx;
  private boolean armed;
  private final Runnable check = this::check;

  private PausedSide(Channel paused, Object info, Runnable gone) {
    this.paused = paused;
    this.info = info;
    this.gone = gone;
  }

  /**
   * Watches {@code paused} while {@code writing} is unwritable, {@code gone} run once it was reset; nothing where the
   * transport shows no TCP state.
   */
  static void install(Channel writing, Channel paused, Runnable gone) {
    Object info = paused instanceof io.netty.channel.uring.IoUringSocketChannel ? new io.netty.channel.uring.IoUringTcpInfo()
        : paused instanceof io.netty.channel.epoll.EpollSocketChannel ? new io.netty.channel.epoll.EpollTcpInfo() : null;
    if (info != null) {
      writing.pipeline().addFirst("tunnel-paused-side", new PausedSide(paused, info, gone));
    }
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (!ctx.channel().isWritable() && !armed) {
      armed = true;
      ctx.executor().schedule(check, CHECK_MS, TimeUnit.MILLISECONDS);
    }
    ctx.fireChannelWritabilityChanged();
  }

  private void check() {
    if (!ctx.channel().isOpen() || ctx.channel().isWritable()) {
      armed = false; // closed, or taking bytes again: the tunnel reads the other side again and sees its end itself
      return;
    }
    // Closed already counts too: on epoll the reset is read, and the channel closed, but what Vert.x read of it before
    // stays queued for this side, which takes nothing, and the tunnel's close waits behind it.
    if (!paused.isOpen() || reset()) {
      gone.run(); // armed stays set: once is enough
      return;
    }
    ctx.executor().schedule(check, CHECK_MS, TimeUnit.MILLISECONDS);
  }

  /** Whether the kernel shows the paused side's connection reset (read from another event loop: a plain getsockopt). */
  private boolean reset() {
    try {
      if (paused instanceof io.netty.channel.uring.IoUringSocketChannel uring) {
        return uring.tcpInfo((io.netty.channel.uring.IoUringTcpInfo) info).state() == TCP_CLOSE;
      }
      return ((io.netty.channel.epoll.EpollSocketChannel) paused).tcpInfo((io.netty.channel.epoll.EpollTcpInfo) info)
          .state() == TCP_CLOSE;
    } catch (RuntimeException e) {
      return false; // the socket closed meanwhile: its close is seen by the tunnel
    }
  }
}
