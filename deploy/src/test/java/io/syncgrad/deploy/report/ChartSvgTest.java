package io.syncgrad.deploy.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.knowm.xchart.XYChart;

class ChartSvgTest {

  private static final String DOCUMENT = """
      <?xml version="1.0" encoding="UTF-8" standalone="no"?>
      <!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
      <svg xmlns:xlink="http://www.w3.org/1999/xlink" height="320px" version="1.1" viewBox="0 0 640 320" width="640px" x="0px" y="0px" xmlns="http://www.w3.org/2000/svg">
        <defs>
          <clipPath id="clip85">
            <rect height="236.671875" width="486.044921875" x="60.423828125" y="30.40625"/>
          </clipPath>
        </defs>
        <g clip-path="url(#clip85)">
          <line style="stroke:rgb(0,55,255);" x1="1.004" x2="2.0000001" y1="5" y2="6.123456"/>
          <line style="stroke:rgb(0,55,255);" x1="2" x2="3" y1="6.12" y2="7"/>
          <line style="stroke:rgb(0,55,255);" x1="3" x2="4" y1="7" y2="8"/>
          <line style="stroke:rgb(9,9,9);" x1="4" x2="5" y1="8" y2="9"/>
        </g>
      </svg>
      """;

  @Test
  void connectedSegmentsOfOneStyleBecomeOnePath() {
    String svg = ChartSvg.compact(DOCUMENT, "loss", "Training <loss>");
    assertEquals("""
        <svg viewBox="0 0 640 320" role="img" aria-label="Training &lt;loss&gt;">
        <defs>
        <clipPath id="loss-clip85">
        <rect height="236.67" width="486.04" x="60.42" y="30.41"/>
        </clipPath>
        </defs>
        <g clip-path="url(#loss-clip85)">
        <path style="stroke:rgb(0,55,255);stroke-linejoin:round;" d="M1 5L2 6.12L3 7L4 8"/>
        <line style="stroke:rgb(9,9,9);" x1="4" y1="8" x2="5" y2="9"/>
        </g>
        </svg>
        """, svg);
  }

  @Test
  void aRealChartNamesNoUrl() throws IOException {
    XYChart chart = ChartStyle.chart(400, 200, "step", "loss");
    chart.addSeries("loss", new double[] {1, 2, 3}, new double[] {3, 2, 1});
    String svg = ChartSvg.render(chart, "c", "a chart");
    assertTrue(svg.startsWith("<svg viewBox=\"0 0 400 200\""), svg.substring(0, 80));
    assertTrue(svg.contains("<path"), "drawn");
    assertFalse(svg.contains("http"), "no URL, not even a namespace");
  }
}
