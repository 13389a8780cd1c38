package io.syncgrad.common.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.syncgrad.proto.AuditProto;
import io.syncgrad.proto.LinkChallengeProto;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import io.syncgrad.proto.PartialSumProto;
import io.syncgrad.proto.ReducedChunkProto;
import io.syncgrad.proto.StateProto;
import java.util.List;
import org.junit.jupiter.api.Test;

class LinkFramesTest {

  @Test
  void eachBodyIsCarriedAndItsGenerationRead() {
    LinkFrameProto state = LinkFrames.of(StateProto.newBuilder().setGeneration(3).build());
    LinkFrameProto partial = LinkFrames.of(PartialSumProto.newBuilder().setGeneration(4));
    LinkFrameProto reduced = LinkFrames.of(ReducedChunkProto.newBuilder().setGeneration(5));
    LinkFrameProto audit = LinkFrames.of(AuditProto.newBuilder().setGeneration(6).build());
    assertEquals(LinkFrameProto.BodyCase.STATE, state.getBodyCase());
    assertEquals(LinkFrameProto.BodyCase.PARTIAL, partial.getBodyCase());
    assertEquals(LinkFrameProto.BodyCase.REDUCED, reduced.getBodyCase());
    assertEquals(LinkFrameProto.BodyCase.AUDIT, audit.getBodyCase());
    assertEquals(List.of(3L, 4L, 5L, 6L), List.of(LinkFrames.generationOf(state), LinkFrames.generationOf(partial),
        LinkFrames.generationOf(reduced), LinkFrames.generationOf(audit)));
  }

  @Test
  void framesOfNoGenerationReadAsZero() {
    assertEquals(0, LinkFrames.generationOf(LinkFrameProto.newBuilder()
        .setHello(LinkHelloProto.newBuilder().setRunId("r")).build()));
    assertEquals(0, LinkFrames.generationOf(LinkFrameProto.newBuilder()
        .setChallenge(LinkChallengeProto.newBuilder()).build()));
    assertEquals(0, LinkFrames.generationOf(LinkFrameProto.getDefaultInstance()));
  }

  @Test
  void aStateInPartsKeepsItsOrder() {
    List<LinkFrameProto> frames = LinkFrames.ofStates(List.of(StateProto.newBuilder().setPart(0).build(),
        StateProto.newBuilder().setPart(1).build()));
    assertEquals(0, frames.get(0).getState().getPart());
    assertEquals(1, frames.get(1).getState().getPart());
  }
}
