import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Bench reference: the least a JVM HTTP/1.1 reverse proxy can do, on bare Netty (the library under
 * Vert.x) with the epoll transport: decode, pass each request to a kept-alive backend connection
 * from its event loop's pool, pass the answer back. No Vert.x, no features, no error handling beyond
 * closing: a bound on what any JVM proxy reaches on the machine, never a gateway.
 *
 * <p>Usage: {@code java -cp gateway-fat.jar:DIR NettyProxy LISTEN_PORT BACKEND_PORT EVENT_LOOPS}
 */
public final class NettyProxy {

  private static final FastThreadLocal<ArrayDeque<Channel>> IDLE = new FastThreadLocal<>() {
    @Override
    protected ArrayDeque<Channel> initialValue() {
      return new ArrayDeque<>();
    }
  };

  private NettyProxy() {
  }

  public static void main(String[] args) throws InterruptedException {
    int port = Integer.parseInt(args[0]);
    int backendPort = Integer.parseInt(args[1]);
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(Integer.parseInt(args[2]), EpollIoHandler.newFactory());
    new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(new HttpServerCodec(), new Front(backendPort));
          }
        })
        .bind("127.0.0.1", port).sync();
    System.out.println("netty proxy on 127.0.0.1:" + port);
  }

  /** A client connection: each request goes to an idle backend connection, or a new one. */
  private static final class Front extends ChannelInboundHandlerAdapter {
    private final int backendPort;
    private Channel backend;
    private List<Object> pending; // messages that arrive while the backend connection is being opened

    Front(int backendPort) {
      this.backendPort = backendPort;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest) {
        Channel idle = IDLE.get().poll();
        while (idle != null && !idle.isActive()) {
          idle = IDLE.get().poll();
        }
        if (idle == null) {
          connect(ctx, msg);
          return;
        }
        backend = idle;
        backend.pipeline().get(Back.class).front = ctx.channel();
      }
      if (pending != null) {
        pending.add(msg);
      } else if (msg instanceof LastHttpContent) {
        backend.writeAndFlush(msg);
      } else {
        backend.write(msg);
      }
    }

    private void connect(ChannelHandlerContext ctx, Object request) {
      Back back = new Back();
      back.front = ctx.channel();
      ChannelFuture connected = new Bootstrap().group(ctx.channel().eventLoop()).channel(EpollSocketChannel.class)
          .option(ChannelOption.TCP_NODELAY, true)
          .handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              ch.pipeline().addLast(new HttpClientCodec(), back);
            }
          })
          .connect("127.0.0.1", backendPort);
      backend = connected.channel();
      pending = new ArrayList<>();
      pending.add(request);
      connected.addListener(done -> {
        List<Object> queued = pending;
        pending = null;
        if (!done.isSuccess()) {
          queued.forEach(ReferenceCountUtil::release);
          ctx.close();
          return;
        }
        queued.forEach(backend::write);
        backend.flush();
      });
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (backend != null && pending == null && backend.pipeline().get(Back.class).front == ctx.channel()) {
        backend.close(); // mid-exchange: the backend connection cannot be reused
      }
    }
  }

  /** A backend connection: passes the answer to its client, then goes back to the idle pool. */
  private static final class Back extends ChannelInboundHandlerAdapter {
    private Channel front;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof LastHttpContent) {
        front.writeAndFlush(msg);
        front = null;
        IDLE.get().push(ctx.channel());
      } else {
        front.write(msg);
      }
    }
  }
}
