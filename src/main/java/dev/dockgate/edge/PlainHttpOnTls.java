package dev.dockgate.edge;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.nio.charset.StandardCharsets;
import java.util.logging.Logger;

/**
 * First on a TLS connection's pipeline, ahead of the TLS handler: when the client's first byte cannot begin a TLS
 * record but can begin an HTTP request (a letter: {@code http://} typed for an {@code https://} port), answers 400 in
 * plain text saying so and closes, as nginx does ("The plain HTTP request was sent to HTTPS port"); the client got an
 * empty reply before. Anything else is passed on and the handler leaves the pipeline. Shared; event loop only.
 */
@ChannelHandler.Sharable
final class PlainHttpOnTls extends ChannelInboundHandlerAdapter {

  static final PlainHttpOnTls INSTANCE = new PlainHttpOnTls();

  private static final Logger LOG = Logger.getLogger(PlainHttpOnTls.class.getName());

  private static final String BODY = "The plain HTTP request was sent to the HTTPS port\n";
  private static final byte[] ANSWER = ("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: "
      + BODY.length() + "\r\nConnection: close\r\n\r\n" + BODY).getBytes(StandardCharsets.US_ASCII);

  private PlainHttpOnTls() {
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf bytes && bytes.isReadable()) {
      byte first = bytes.getByte(bytes.readerIndex());
      if (first >= 'A' && first <= 'Z') { // a TLS record starts with its type (20 to 24), SSLv2's hello with 0x80
        bytes.release();
        ctx.channel().config().setAutoRead(false);
        LOG.fine(() -> "plain HTTP from " + ctx.channel().remoteAddress() + " on the TLS port: answered 400");
        ctx.writeAndFlush(Unpooled.wrappedBuffer(ANSWER)).addListener(ChannelFutureListener.CLOSE);
        return;
      }
      ctx.pipeline().remove(this);
    }
    ctx.fireChannelRead(msg);
  }
}
