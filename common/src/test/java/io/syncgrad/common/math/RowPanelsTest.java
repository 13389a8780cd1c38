package io.syncgrad.common.math;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.syncgrad.common.testing.PanelKernel;
import org.junit.jupiter.api.Test;

/** The probe finds the panel in which a kernel's rows are independent, and 1 where they always are. */
class RowPanelsTest {

  @Test
  void findsThePanelOfAKernelWhoseLastPartialPanelRoundsDifferently() {
    assertEquals(12, RowPanels.probe(new PanelKernel(12)));
    assertEquals(4, RowPanels.probe(new PanelKernel(4)));
  }

  @Test
  void kernelsWithIndependentRowsHaveNoPanel() {
    assertEquals(1, RowPanels.probe(new VectorFmaKernel()));
    assertEquals(1, RowPanels.probe(EjmlKernel.INSTANCE), "EJML promises nothing: no panel either");
  }
}
