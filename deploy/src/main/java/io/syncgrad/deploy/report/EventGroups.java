package io.syncgrad.deploy.report;

import java.awt.Color;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A run's events grouped by what they are ("fault: delay", "recovery: worker lost"), in the order
 * a reader follows them: injected faults, then what the cluster did about them, then checkpoints
 * and resumes; within each, by first occurrence. The timeline draws one row per group and the
 * table counts them, in the same colours.
 */
final class EventGroups {

  /** The events of one type and kind, in file order. */
  record Group(String type, String kind, List<RunMetrics.Event> events, Color color) {

    /** E.g. "worker lost". */
    String label() {
      return kind.replace('_', ' ');
    }

    long firstStep() {
      return events.get(0).step();
    }

    long lastStep() {
      return events.stream().mapToLong(RunMetrics.Event::step).max().orElse(0);
    }
  }

  private static final Set<String> MESSAGE_FAULTS = Set.of("delay", "drop", "duplicate");

  private static final List<String> TYPE_ORDER = List.of("fault", "recovery", "checkpoint", "resume");

  private EventGroups() {}

  static List<Group> of(List<RunMetrics.Event> events) {
    Map<String, List<RunMetrics.Event>> byKey = new LinkedHashMap<>();
    for (RunMetrics.Event e : events) {
      byKey.computeIfAbsent(e.type() + "\u0000" + e.kind(), k -> new ArrayList<>()).add(e);
    }
    List<List<RunMetrics.Event>> groups = new ArrayList<>(byKey.values());
    groups.sort(Comparator.<List<RunMetrics.Event>>comparingInt(g -> typeRank(g.get(0).type()))
        .thenComparingLong(g -> g.get(0).step()));
    List<Group> out = new ArrayList<>();
    int faults = 0;
    int recoveries = 0;
    for (List<RunMetrics.Event> g : groups) {
      RunMetrics.Event first = g.get(0);
      Color color = switch (first.type()) {
        case "fault" -> ChartStyle.FAULTS.get(faults++ % ChartStyle.FAULTS.size());
        case "recovery" -> ChartStyle.RECOVERIES.get(recoveries++ % ChartStyle.RECOVERIES.size());
        case "resume" -> ChartStyle.RESUME;
        default -> ChartStyle.CHECKPOINT;
      };
      out.add(new Group(first.type(), first.kind(), List.copyOf(g), color));
    }
    return out;
  }

  /**
   * Whether {@code e} is a fault of one message (delayed, dropped or duplicated), which costs a
   * retransmission or a wait, as opposed to one that changes the cluster (a lost, paused or cut
   * off node).
   */
  static boolean isMessageFault(RunMetrics.Event e) {
    return e.type().equals("fault") && MESSAGE_FAULTS.contains(e.kind());
  }

  private static int typeRank(String type) {
    int i = TYPE_ORDER.indexOf(type);
    return i < 0 ? TYPE_ORDER.size() : i;
  }
}
