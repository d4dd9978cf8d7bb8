package dev.dockgate.edge;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpResponse;

/**
 * Watches the answer to a WebSocket upgrade request while the {@link StrictRequestDecoder} holds what the client sent
 * behind it: a 101 switches (the held bytes go to the tunnel), any other final answer lets the decoder read them as
 * the next requests; interim answers, and the answers to requests pipelined before the upgrade, pass. Added in front
 * of Vert.x's connection handler for that one answer, where the response is still an object, and removed by it.
 */
final class UpgradeAnswerWatch extends ChannelOutboundHandlerAdapter {

  private final StrictRequestDecoder decoder;

  UpgradeAnswerWatch(StrictRequestDecoder decoder) {
    this.decoder = decoder;
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    int status = msg instanceof HttpResponse response ? response.status().code() : 0;
    if (status >= 200 && !decoder.answeringTheUpgrade()) {
      status = 0; // the answer to a request pipelined before the upgrade: the upgrade's is still to come
    }
    if (status == 101) {
      decoder.switched();
    }
    ctx.write(msg, promise);
    if (status == 101 || status >= 200) {
      ctx.pipeline().remove(this);
      if (status != 101) {
        decoder.refused(ctx);
      }
    }
  }
}
