package dev.dockgate.edge;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Flags;
import io.netty.handler.codec.http2.Http2FlowController;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import java.util.concurrent.TimeUnit;

/**
 * Bounds the frames an HTTP/2 client sends that ask the gateway for no work (CVE-2019-9512 ping flood, -9513
 * resource loop, -9515 settings flood):
 * PING, SETTINGS (and their ACKs), PRIORITY, unknown frame types, and WINDOW_UPDATEs that grant more than the
 * gateway has sent. Each costs a little (an ACK written, Vert.x's handlers run) and nothing else limits them: Netty's
 * own rules cover RST_STREAM, empty DATA, CONTINUATION and the control frames queued unread. More than
 * {@link #MAX_FRAMES} of them within {@link #WINDOW_SECONDS} s end the connection with GOAWAY ENHANCE_YOUR_CALM, as
 * Netty's rule for RST_STREAM does. A frame that follows the gateway's sending is not counted: a WINDOW_UPDATE that
 * gives back window the gateway used, a PING after DATA went out (a client probing its bandwidth sends one per burst).
 * One per HTTP/2 client connection, called on its event loop; O(1) per frame, allocating nothing but for a stream
 * whose client raises its window past the initial size (one small array). It also marks each stream whose request
 * head it saw, so that {@link Http2ConnectionEvents} knows Netty's 431 streams from requests.
 */
final class Http2Floods extends Http2FrameListenerDecorator {

  /** Frames that ask for no work, at most, within {@link #WINDOW_SECONDS}: a normal client sends a handful. */
  static final int MAX_FRAMES = 1000;
  static final int WINDOW_SECONDS = 10;
  private static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(WINDOW_SECONDS);
  /** A connection's initial send window (RFC 9113 §6.9.2: SETTINGS do not change it). */
  private static final int CONNECTION_WINDOW = 65_535;

  private final Http2Connection connection;
  private final Http2FlowController sending;
  /** The highest stream window a client raised past the initial size (an {@code int[1]}). */
  private final Http2Connection.PropertyKey raised;
  private long windowStart;
  private int counted;
  /** What the client granted on the connection so far: the initial window and every increment. */
  private long granted = CONNECTION_WINDOW;
  /** The connection window's highest value so far. */
  private long highest = CONNECTION_WINDOW;
  /** Bytes sent on the connection (flow-controlled) when the last PING came. */
  private long sentAtPing;
  /** Set on each stream whose request head was read (decoded and handed on). */
  private final Http2Connection.PropertyKey headRead;

  private Http2Floods(Http2FrameListener listener, Http2Connection connection) {
    super(listener);
    this.connection = connection;
    this.sending = connection.remote().flowController();
    this.raised = connection.newKey();
    this.headRead = connection.newKey();
    this.windowStart = System.nanoTime() - WINDOW_NANOS;
  }

  /**
   * Puts the count in front of the connection's frame listener (see {@link Http2MethodCheck#install}); null when
   * there is no listener yet.
   */
  static Http2Floods install(Http2ConnectionHandler handler) {
    Http2FrameListener listener = handler.decoder().frameListener();
    if (listener == null || listener instanceof Http2Floods) {
      return null;
    }
    Http2Floods floods = new Http2Floods(listener, handler.connection());
    handler.decoder().frameListener(floods);
    return floods;
  }

  /**
   * Whether a client's stream never had its request head read: one Netty's codec made only to answer it, a 431 for a
   * header block over the limit it would not decode.
   */
  boolean headUnread(Http2Stream stream) {
    return stream.getProperty(headRead) == null;
  }

  private void headRead(int streamId) {
    Http2Stream stream = connection.stream(streamId);
    if (stream != null) {
      stream.setProperty(headRead, Boolean.TRUE); // (the stream's property array holds Vert.x's already: no allocation)
    }
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, io.netty.handler.codec.http2.Http2Headers headers,
      int padding, boolean endOfStream) throws Http2Exception {
    headRead(streamId);
    super.onHeadersRead(ctx, streamId, headers, padding, endOfStream);
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, io.netty.handler.codec.http2.Http2Headers headers,
      int streamDependency, short weight, boolean exclusive, int padding, boolean endOfStream) throws Http2Exception {
    headRead(streamId);
    super.onHeadersRead(ctx, streamId, headers, streamDependency, weight, exclusive, padding, endOfStream);
  }

  /** One more frame that asks for no work; more than {@link #MAX_FRAMES} within the window end the connection. */
  private void count(String what) throws Http2Exception {
    long now = System.nanoTime();
    if (now - windowStart >= WINDOW_NANOS) {
      windowStart = now;
      counted = 1;
    } else if (++counted > MAX_FRAMES) {
      throw new Http2Exception(Http2Error.ENHANCE_YOUR_CALM, "more than " + MAX_FRAMES + " frames that ask for no work"
          + " (PING, SETTINGS, PRIORITY, WINDOW_UPDATE beyond what was sent, unknown types) within " + WINDOW_SECONDS
          + " s; the last: " + what, Http2Exception.ShutdownHint.HARD_SHUTDOWN);
    }
  }

  @Override
  public void onPingRead(ChannelHandlerContext ctx, long data) throws Http2Exception {
    long sent = granted - sending.windowSize(connection.connectionStream());
    if (sent > sentAtPing) {
      sentAtPing = sent; // DATA went out since the last PING: a client measuring its bandwidth
    } else {
      count("PING");
    }
    super.onPingRead(ctx, data);
  }

  @Override
  public void onPingAckRead(ChannelHandlerContext ctx, long data) throws Http2Exception {
    count("PING ACK");
    super.onPingAckRead(ctx, data);
  }

  @Override
  public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) throws Http2Exception {
    count("SETTINGS");
    super.onSettingsRead(ctx, settings);
  }

  @Override
  public void onSettingsAckRead(ChannelHandlerContext ctx) throws Http2Exception {
    count("SETTINGS ACK");
    super.onSettingsAckRead(ctx);
  }

  @Override
  public void onPriorityRead(ChannelHandlerContext ctx, int streamId, int streamDependency, short weight,
      boolean exclusive) throws Http2Exception {
    count("PRIORITY");
    super.onPriorityRead(ctx, streamId, streamDependency, weight, exclusive);
  }

  @Override
  public void onUnknownFrame(ChannelHandlerContext ctx, byte frameType, int streamId, Http2Flags flags, ByteBuf payload)
      throws Http2Exception {
    count("a frame of unknown type " + (frameType & 0xff));
    super.onUnknownFrame(ctx, frameType, streamId, flags, payload);
  }

  /**
   * Called once the increment is applied. It gives back what the gateway sent while the window it raises stays at
   * most as high as it has been; beyond that it is counted, but a stream's first raise past the initial window
   * (a client asking for a larger window on that stream only).
   */
  @Override
  public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int windowSizeIncrement)
      throws Http2Exception {
    if (streamId == 0) {
      granted += windowSizeIncrement;
      int window = sending.windowSize(connection.connectionStream());
      if (window > highest) {
        highest = window;
        count("WINDOW_UPDATE");
      }
    } else {
      Http2Stream stream = connection.stream(streamId);
      int window = stream == null ? 0 : sending.windowSize(stream);
      if (window > sending.initialWindowSize()) {
        int[] high = stream.getProperty(raised);
        if (high == null) {
          stream.setProperty(raised, new int[] {window});
        } else if (window > high[0]) {
          high[0] = window;
          count("WINDOW_UPDATE");
        }
      }
    }
    super.onWindowUpdateRead(ctx, streamId, windowSizeIncrement);
  }
}
