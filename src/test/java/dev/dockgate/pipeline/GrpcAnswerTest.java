package dev.dockgate.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class GrpcAnswerTest {

  /**
   * gRPC's table (400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503
   * UNAVAILABLE, others UNKNOWN), but 504 DEADLINE_EXCEEDED (the gateway's deadline passed), 413 RESOURCE_EXHAUSTED
   * and 500 INTERNAL (the gateway's own failure); a default response of 200 is no gRPC answer (UNKNOWN).
   */
  @Test
  void httpStatusesMapAsGrpcsTableSaysSaveWhereTheGatewayKnowsMore() {
    int[][] expected = {{400, 13}, {401, 16}, {403, 7}, {404, 12}, {429, 14}, {502, 14}, {503, 14}, {504, 4},
        {413, 8}, {500, 13}, {418, 2}, {200, 2}};
    for (int[] pair : expected) {
      assertEquals(pair[1], GrpcAnswer.statusOf(pair[0]), "HTTP " + pair[0]);
    }
  }

  @Test
  void messagesArePercentEncodedUtf8WithoutTheirLineBreak() {
    assertEquals("backend \"x\" is unavailable", GrpcAnswer.message("backend \"x\" is unavailable\n"));
    assertEquals("100%25 s%C3%BBr", GrpcAnswer.message("100% sûr"));
    assertEquals("a%0Ab%09c", GrpcAnswer.message("a\nb\tc\r\n"));
    assertEquals("", GrpcAnswer.message("\n"));
    assertEquals("%7F%00", GrpcAnswer.message("\u007f\u0000"));
  }

  /** A long text is cut to 1,024 characters at a character's end, never inside one's encoding. */
  @Test
  void longMessagesAreCutAtACharactersEnd() {
    assertEquals("a".repeat(1024), GrpcAnswer.message("a".repeat(9000)));
    String cut = GrpcAnswer.message("é".repeat(400)); // 6 characters each once encoded
    assertEquals("%C3%A9".repeat(170), cut);
    assertEquals("%F0%9F%98%80".repeat(85), GrpcAnswer.message("😀".repeat(300)), "4 bytes, 12 characters each");
    assertEquals("x%EF%BF%BDy", GrpcAnswer.message("x\uD800y"), "a lone surrogate");
  }
}
