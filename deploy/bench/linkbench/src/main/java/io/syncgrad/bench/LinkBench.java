package io.syncgrad.bench;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.UnsafeByteOperations;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.protobuf.ProtobufVarint32FrameDecoder;
import io.syncgrad.common.transport.TensorLink;
import io.syncgrad.common.transport.TensorLinkServer;
import io.syncgrad.common.transport.TensorLinkSettings;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import io.syncgrad.proto.PartialSumProto;
import io.syncgrad.proto.ReducedChunkProto;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.function.Consumer;

/**
 * The peer links' traffic of a two-worker step, over loopback, on two transports: syncgrad's
 * {@link TensorLink} (blocking sockets, a reader and a writer thread per link) and Netty (epoll or
 * NIO event loops, pooled direct buffers). Two members exchange what {@code launch --workers 2}
 * exchanges per step: each sends the other its partial sums of the other's chunk, adds the one it
 * receives into its own, sends the reduced chunk, and takes the other's; the same protobuf frames
 * ({@link PartialSumProto}, {@link ReducedChunkProto}) encoded and decoded as the worker does. It
 * reports steps per second and the process's CPU time per step (both members, every thread), the
 * best of several rounds.
 *
 * <p>Usage: {@code LinkBench [floats per chunk] [steps per round] [rounds]}.
 */
public final class LinkBench {

  /** One member's way to send a frame and to wait for the next one. */
  interface Wire extends AutoCloseable {
    void send(LinkFrameProto frame);

    /** The next frame; {@code release} is run once its bytes have been read. */
    Received take() throws InterruptedException;

    @Override
    void close();
  }

  record Received(LinkFrameProto frame, Runnable release) {}

  public static void main(String[] args) throws Exception {
    int floats = args.length > 0 ? Integer.parseInt(args[0]) : 117_573;
    int steps = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    String only = args.length > 3 ? args[3] : "all";
    System.out.printf(Locale.ROOT, "chunk %d floats (%.0f kB), %d steps a round, %d rounds; %s%n", floats,
        floats * 4 / 1000.0, steps, rounds, Epoll.isAvailable() ? "epoll available" : "epoll not available");
    List<String> order = new ArrayList<>(List.of("tensorlink", "netty-epoll", "netty-nio"));
    for (int r = 0; r < rounds; r++) {
      for (String t : order) {
        if (!only.equals("all") && !List.of(only.split(",")).contains(t)) {
          continue;
        }
        Wire[] pair = switch (t) {
          case "tensorlink" -> tensorLinks();
          case "netty-epoll" -> Epoll.isAvailable() ? netty(true) : null;
          default -> netty(false);
        };
        if (pair == null) {
          continue;
        }
        try {
          run(t, pair, floats, steps / 4); // warm-up
          double[] m = run(t, pair, floats, steps);
          System.out.printf(Locale.ROOT, "round %d %-12s %8.0f steps/s  %6.3f ms/step  %6.3f ms CPU/step%n", r, t,
              1000.0 / m[0], m[0], m[1]);
        } finally {
          pair[0].close();
          pair[1].close();
        }
      }
      java.util.Collections.rotate(order, 1);
    }
  }

  /** Runs {@code steps} steps on both members at once: ms of wall-clock time and of CPU per step. */
  static double[] run(String name, Wire[] pair, int floats, int steps) throws Exception {
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    CyclicBarrier start = new CyclicBarrier(3);
    List<CompletableFuture<Void>> members = new ArrayList<>();
    for (int m = 0; m < 2; m++) {
      Wire wire = pair[m];
      int rank = m;
      members.add(CompletableFuture.runAsync(() -> {
        try {
          member(rank, wire, floats, steps, start);
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      }, r -> {
        Thread th = new Thread(r, name + "-member-" + rank);
        th.start();
      }));
    }
    start.await();
    long cpu0 = os.getProcessCpuTime();
    long t0 = System.nanoTime();
    CompletableFuture.allOf(members.toArray(CompletableFuture[]::new)).join();
    long wall = System.nanoTime() - t0;
    long cpu = os.getProcessCpuTime() - cpu0;
    return new double[] {wall / 1e6 / steps, cpu / 1e6 / steps};
  }

  /** One member's steps: the exchange of a two-worker step, as the worker encodes and decodes it. */
  static void member(int rank, Wire wire, int floats, int steps, CyclicBarrier start) throws Exception {
    float[] mine = new float[floats];
    float[] peerChunk = new float[floats];
    float[] received = new float[floats];
    float[] gathered = new float[floats];
    for (int i = 0; i < floats; i++) {
      mine[i] = (rank + 1) * 1e-3f * (i % 97);
      peerChunk[i] = (rank + 2) * 1e-3f * (i % 89);
    }
    start.await();
    for (long step = 0; step < steps; step++) {
      wire.send(partial(step, peerChunk));
      Received p = wire.take();
      p.frame().getPartial().getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
          .get(received, 0, floats);
      p.release().run();
      for (int i = 0; i < floats; i++) {
        received[i] += mine[i];
      }
      wire.send(reduced(step, received, floats));
      Received r = wire.take();
      r.frame().getReduced().getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
          .get(gathered, 0, floats);
      r.release().run();
    }
  }

  static LinkFrameProto partial(long step, float[] sums) {
    ByteBuffer data = ByteBuffer.allocate(sums.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    data.asFloatBuffer().put(sums);
    return LinkFrameProto.newBuilder().setPartial(PartialSumProto.newBuilder().setRunId("bench").setGeneration(1)
        .setStep(step).setChunk(1).setFromWorker("worker-00").addNodeFirst(0).addNodeEnd(4)
        .setData(UnsafeByteOperations.unsafeWrap(data.array())).addShardLoss(1).addShardLoss(2).addShardLoss(3)
        .addShardLoss(4)).build();
  }

  static LinkFrameProto reduced(long step, float[] chunk, int floats) {
    ByteBuffer data = ByteBuffer.allocate(floats * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    data.asFloatBuffer().put(chunk, 0, floats);
    return LinkFrameProto.newBuilder().setReduced(ReducedChunkProto.newBuilder().setRunId("bench").setGeneration(1)
        .setStep(step).setChunk(0).setFromWorker("worker-00").setData(UnsafeByteOperations.unsafeWrap(data.array())))
        .build();
  }

  // ---------------------------------------------------------------- syncgrad's TensorLink

  static Wire[] tensorLinks() throws Exception {
    // Plain TCP with syncgrad's frame limit: what two workers on one host use.
    TensorLinkSettings settings = new TensorLinkSettings("127.0.0.1", "127.0.0.1", 0, 64 << 20,
        java.time.Duration.ofSeconds(5), null, List.of(), List.of(), TensorLinkSettings.Greeting.DEFAULT);
    CompletableFuture<TensorLink> accepted = new CompletableFuture<>();
    TensorLinkServer server = TensorLinkServer.open(settings, (hello, link) -> accepted.complete(link));
    LinkFrameProto hello = LinkFrameProto.newBuilder().setHello(LinkHelloProto.newBuilder().setRunId("bench")
        .setWorkerId("worker-01")).build();
    TensorLink opened = TensorLink.connect(server.endpoint(), settings, hello);
    TensorLink acceptedLink = accepted.get();
    server.close();
    return new Wire[] {linkWire(acceptedLink), linkWire(opened)};
  }

  static Wire linkWire(TensorLink link) {
    BlockingQueue<Received> in = new ArrayBlockingQueue<>(16);
    Runnable none = () -> { };
    link.start(f -> in.add(new Received(f, none)), reason -> { });
    return wire(link::send, in, link::close);
  }

  /** A member's wire from how it sends, where its frames arrive, and how it closes. */
  static Wire wire(Consumer<LinkFrameProto> send, BlockingQueue<Received> in, Runnable close) {
    return new Wire() {
      @Override
      public void send(LinkFrameProto frame) {
        send.accept(frame);
      }

      @Override
      public Received take() throws InterruptedException {
        return in.take();
      }

      @Override
      public void close() {
        close.run();
      }
    };
  }

  // ---------------------------------------------------------------- Netty

  static Wire[] netty(boolean epoll) throws Exception {
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, io);
    BlockingQueue<Received> serverIn = new ArrayBlockingQueue<>(16);
    BlockingQueue<Received> clientIn = new ArrayBlockingQueue<>(16);
    CompletableFuture<Channel> accepted = new CompletableFuture<>();
    ServerBootstrap sb = new ServerBootstrap().group(group)
        .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
        .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER_BYTES)
        .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.RCVBUF_ALLOCATOR, RECEIVE)
        .childOption(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(decoder(), new FrameHandler(serverIn::add));
            accepted.complete(ch);
          }
        });
    Channel listener = sb.bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    Bootstrap cb = new Bootstrap().group(group).channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
        .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.RCVBUF_ALLOCATOR, RECEIVE)
        .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES)
        .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER_BYTES)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(decoder(), new FrameHandler(clientIn::add));
          }
        });
    Channel client = cb.connect(listener.localAddress()).sync().channel();
    Channel server = accepted.get();
    listener.close().sync();
    Runnable shutdown = () -> group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    return new Wire[] {nettyWire(server, serverIn, () -> { }), nettyWire(client, clientIn, shutdown)};
  }

  /**
   * Netty's defaults (reads of at most 64 kB, each frame gathered by copying into one buffer), or
   * with {@code -Dlinkbench.tuned=true} reads of up to 1 MB and frames gathered without copying.
   */
  static final boolean TUNED = Boolean.getBoolean("linkbench.tuned");
  static final io.netty.channel.RecvByteBufAllocator RECEIVE = TUNED
      ? new io.netty.channel.AdaptiveRecvByteBufAllocator(64 << 10, 256 << 10, 1 << 20)
      : new io.netty.channel.AdaptiveRecvByteBufAllocator();

  static ProtobufVarint32FrameDecoder decoder() {
    ProtobufVarint32FrameDecoder d = new ProtobufVarint32FrameDecoder();
    if (TUNED) {
      d.setCumulator(io.netty.handler.codec.ByteToMessageDecoder.COMPOSITE_CUMULATOR);
    }
    return d;
  }

  /** The socket buffer size the tensor links ask for (TensorLink.SOCKET_BUFFER_BYTES). */
  static final int SOCKET_BUFFER_BYTES = 4 << 20;

  /** Parses each whole frame straight from its (direct, pooled) buffer; the bytes stay there until released. */
  static final class FrameHandler extends SimpleChannelInboundHandler<ByteBuf> {
    private final Consumer<Received> out;

    FrameHandler(Consumer<Received> out) {
      super(false);
      this.out = out;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf buf) throws Exception {
      CodedInputStream in = CodedInputStream.newInstance(buf.nioBuffer());
      in.enableAliasing(true);
      out.accept(new Received(LinkFrameProto.parseFrom(in), buf::release));
    }
  }

  static Wire nettyWire(Channel channel, BlockingQueue<Received> in, Runnable onClose) {
    return wire(frame -> channel.writeAndFlush(encode(channel, frame)), in, () -> {
      channel.close().syncUninterruptibly();
      onClose.run();
    });
  }

  /** The frame, length-prefixed as the links write it, in a pooled direct buffer. */
  static ByteBuf encode(Channel channel, LinkFrameProto frame) {
    int size = frame.getSerializedSize();
    int total = CodedOutputStream.computeUInt32SizeNoTag(size) + size;
    ByteBuf buf = channel.alloc().directBuffer(total);
    try {
      CodedOutputStream out = CodedOutputStream.newInstance(buf.nioBuffer(0, total));
      out.writeUInt32NoTag(size);
      frame.writeTo(out);
      out.flush();
    } catch (java.io.IOException e) {
      buf.release();
      throw new java.io.UncheckedIOException(e);
    }
    return buf.writerIndex(total);
  }
}
