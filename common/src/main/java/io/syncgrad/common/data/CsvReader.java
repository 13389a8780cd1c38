package io.syncgrad.common.data;

import io.syncgrad.common.error.UserException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads labelled samples from CSV: one sample per line, comma-separated numbers, one column
 * holding the integer class. The first line is a header when any of its fields is not a
 * number; a UTF-8 byte order mark before it is skipped. Features must be finite as float32, the
 * type the model trains on. Every line is checked, and every problem found is reported (up to a
 * limit), each naming the file, the line and the column.
 */
public final class CsvReader {

  private static final int MAX_REPORTED = 20;
  /** The most classes a label may name: labels are in [0, MAX_CLASSES). */
  public static final int MAX_CLASSES = 1 << 16;
  private static final String BYTE_ORDER_MARK = "\uFEFF";

  private CsvReader() {}

  /**
   * Which column holds the label: an index (negative counts from the end) or a header name.
   *
   * @param spec {@code 0}, {@code -1} or {@code label}
   */
  public record LabelColumn(String spec) {
    /** The first column. */
    public static final LabelColumn FIRST = new LabelColumn("0");

    int resolve(DataFile file, List<String> header, int fields) {
      try {
        int index = Integer.parseInt(spec.trim());
        int resolved = index < 0 ? fields + index : index;
        if (resolved < 0 || resolved >= fields) {
          throw new UserException(file.name() + ": label column " + spec + " is outside the " + fields
              + " columns of line 1");
        }
        return resolved;
      } catch (NumberFormatException notAnIndex) {
        if (header == null) {
          throw new UserException(file.name() + ": label column '" + spec
              + "' is a name, but line 1 is not a header (all its fields are numbers)");
        }
        int at = header.indexOf(spec);
        if (at < 0) {
          throw new UserException(file.name() + ":1: no column named '" + spec + "' in the header " + header);
        }
        return at;
      }
    }
  }

  /** Reads a labelled file. */
  public static Dataset read(DataFile file, LabelColumn labelColumn) {
    return read(file, labelColumn, true);
  }

  /** Reads a file of features only (for prediction), or drops the label column when one is named. */
  public static Dataset readFeatures(DataFile file, LabelColumn labelColumnOrNull) {
    return read(file, labelColumnOrNull, labelColumnOrNull != null);
  }

  private static Dataset read(DataFile file, LabelColumn labelColumn, boolean labelled) {
    List<String> problems = new ArrayList<>();
    int[] extra = {0};
    List<float[]> rows = new ArrayList<>();
    List<Integer> labels = new ArrayList<>();
    int fields = -1;
    int label = -1;
    int fieldsLine = 0;
    try (BufferedReader in = new BufferedReader(new InputStreamReader(file.open(), StandardCharsets.UTF_8))) {
      String line;
      int lineNo = 0;
      while ((line = in.readLine()) != null) {
        lineNo++;
        if (lineNo == 1 && line.startsWith(BYTE_ORDER_MARK)) {
          // Spreadsheets write one; read as text it would turn the first row into a "header".
          line = line.substring(BYTE_ORDER_MARK.length());
        }
        if (line.isBlank()) {
          continue;
        }
        String[] parts = line.split(",", -1);
        if (fields < 0) {
          fields = parts.length;
          fieldsLine = lineNo;
          List<String> header = isHeader(parts) ? trimmed(parts) : null;
          label = labelled ? labelColumn.resolve(file, header, fields) : -1;
          if (labelled && fields < 2) {
            throw new UserException(file.name() + ":" + lineNo + ": expected a label and at least one feature, found "
                + fields + " field");
          }
          if (header != null) {
            continue;
          }
        }
        if (parts.length != fields) {
          report(problems, extra, file.name() + ":" + lineNo + ": expected " + fields + " fields (as on line "
              + fieldsLine + "), found " + parts.length);
          continue;
        }
        float[] row = new float[labelled ? fields - 1 : fields];
        int y = 0;
        boolean ok = true;
        for (int c = 0, k = 0; c < fields; c++) {
          String text = unquote(parts[c]);
          String where = file.name() + ":" + lineNo + ": column " + (c + 1);
          Double value = parse(text);
          if (value == null) {
            ok = report(problems, extra, where + ": expected a number, found '" + text + "'");
            continue;
          }
          if (!Double.isFinite(value)) {
            ok = report(problems, extra, where + ": expected a finite number, found " + text);
            continue;
          }
          if (c == label) {
            if (value != Math.rint(value) || value < 0 || value >= MAX_CLASSES) {
              ok = report(problems, extra, where + ": the label must be a class number in [0, " + MAX_CLASSES
                  + "), found '" + text + "'");
            }
            y = (int) (double) value;
          } else {
            float f = (float) (double) value;
            if (!Float.isFinite(f)) {
              // Finite as a double, infinite as the float32 the model trains on: it would only show as divergence.
              ok = report(problems, extra, where + ": expected a finite number within float32 range (magnitude "
                  + "up to 3.4e38), found " + text);
              continue;
            }
            row[k++] = f;
          }
        }
        if (ok) {
          rows.add(row);
          labels.add(y);
        }
      }
    } catch (IOException e) {
      throw new UserException(file.name() + ": cannot read (" + e.getMessage() + ")", e);
    }
    if (!problems.isEmpty()) {
      if (extra[0] > 0) {
        problems.add(file.name() + ": " + extra[0] + " more problems not shown");
      }
      throw new UserException(problems);
    }
    if (rows.isEmpty()) {
      throw new UserException(file.name() + ": no samples: expected at least one line of numbers");
    }
    int width = rows.get(0).length;
    float[] features = new float[rows.size() * width];
    int[] y = new int[rows.size()];
    for (int i = 0; i < rows.size(); i++) {
      System.arraycopy(rows.get(i), 0, features, i * width, width);
      y[i] = labels.get(i);
    }
    return new Dataset(file.name(), features, y, rows.size(), width, false);
  }

  private static boolean report(List<String> problems, int[] extra, String problem) {
    if (problems.size() < MAX_REPORTED) {
      problems.add(problem);
    } else {
      extra[0]++;
    }
    return false;
  }

  private static boolean isHeader(String[] parts) {
    for (String p : parts) {
      String t = unquote(p);
      if (parse(t) == null && !isNonFinite(t)) {
        return true;
      }
    }
    return false;
  }

  private static boolean isNonFinite(String t) {
    String s = t.toLowerCase(Locale.ROOT).replace("+", "").replace("-", "");
    return s.equals("nan") || s.equals("inf") || s.equals("infinity");
  }

  private static List<String> trimmed(String[] parts) {
    List<String> out = new ArrayList<>(parts.length);
    for (String p : parts) {
      out.add(unquote(p));
    }
    return out;
  }

  private static String unquote(String field) {
    String t = field.trim();
    if (t.length() >= 2 && t.startsWith("\"") && t.endsWith("\"")) {
      t = t.substring(1, t.length() - 1).trim();
    }
    return t;
  }

  /** The value of a field, non-finite spellings included; null when it is no number at all. */
  private static Double parse(String text) {
    if (isNonFinite(text)) {
      return text.toLowerCase(Locale.ROOT).contains("nan") ? Double.NaN
          : text.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    }
    if (text.isEmpty()) {
      return null;
    }
    char last = Character.toLowerCase(text.charAt(text.length() - 1));
    if (last == 'd' || last == 'f') {
      return null; // Java's parser accepts "1d" and "1f"; a CSV should not.
    }
    try {
      return Double.parseDouble(text);
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
