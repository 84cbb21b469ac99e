package dev.strait.compat.kcl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** One processed record, as {@link KclConsumer} writes it, with its position in the output file. */
record Line(int index, String shardId, BigInteger seq, long subSeq, String key, String data) {
    static Line parse(int index, String s) {
        String[] f = s.split("\t", -1);
        assertEquals(5, f.length, "bad output line: " + s);
        return new Line(index, f[0], new BigInteger(f[1]), Long.parseLong(f[2]), f[3],
                new String(Base64.getDecoder().decode(f[4]), StandardCharsets.UTF_8));
    }

    /** The complete lines of {@code out} so far, parsed. */
    static List<Line> read(Path out) {
        try {
            if (!Files.exists(out)) {
                return List.of();
            }
            // The app may be in the middle of writing a batch: only complete (newline-terminated) lines count.
            String text = new String(Files.readAllBytes(out), StandardCharsets.UTF_8);
            List<String> raw = List.of(text.substring(0, text.lastIndexOf('\n') + 1).split("\n"));
            if (raw.size() == 1 && raw.get(0).isEmpty()) {
                return List.of();
            }
            List<Line> lines = new ArrayList<>(raw.size());
            for (int i = 0; i < raw.size(); i++) {
                lines.add(Line.parse(i, raw.get(i)));
            }
            return lines;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
