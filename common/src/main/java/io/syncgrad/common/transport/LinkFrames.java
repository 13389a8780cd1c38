package io.syncgrad.common.transport;

import io.syncgrad.proto.AuditProto;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.PartialSumProto;
import io.syncgrad.proto.ReducedChunkProto;
import io.syncgrad.proto.StateProto;
import java.util.List;

/**
 * The bodies a tensor link carries, put into their frame ({@link LinkFrameProto}) in one place,
 * and the generation a frame belongs to read in one place: a part of a whole state, a partial sum,
 * a reduced chunk, an audit's message.
 */
public final class LinkFrames {
  private LinkFrames() {
  }

  /** A frame carrying part of a whole state (weights, optimiser state, step). */
  public static LinkFrameProto of(StateProto part) {
    return LinkFrameProto.newBuilder().setState(part).build();
  }

  /** Frames carrying the parts of a whole state, in order. */
  public static List<LinkFrameProto> ofStates(List<StateProto> parts) {
    return parts.stream().map(LinkFrames::of).toList();
  }

  /** A frame carrying a worker's partial sums for one chunk's owner. */
  public static LinkFrameProto of(PartialSumProto.Builder partial) {
    return LinkFrameProto.newBuilder().setPartial(partial).build();
  }

  /** A frame carrying a chunk its owner reduced, for every member. */
  public static LinkFrameProto of(ReducedChunkProto.Builder reduced) {
    return LinkFrameProto.newBuilder().setReduced(reduced).build();
  }

  /** A frame carrying an audit's digest or clearance. */
  public static LinkFrameProto of(AuditProto audit) {
    return LinkFrameProto.newBuilder().setAudit(audit).build();
  }

  /**
   * The generation of the run whose step a frame belongs to; 0 for the frames that belong to
   * none (a link's challenge and hello).
   */
  public static long generationOf(LinkFrameProto f) {
    return switch (f.getBodyCase()) {
      case STATE -> f.getState().getGeneration();
      case PARTIAL -> f.getPartial().getGeneration();
      case REDUCED -> f.getReduced().getGeneration();
      case AUDIT -> f.getAudit().getGeneration();
      default -> 0;
    };
  }
}
