package dev.strait.compat.kcl;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/** Builds what the KPL would send: aggregated records and partition keys aimed at one shard's hash-key range. */
final class KplAggregate {
    private KplAggregate() {}

    /** A partition key (prefix + counter) whose MD5 hash key falls in {@code range}. */
    static String keyInRange(BigInteger[] range, String prefix) throws Exception {
        for (int i = 0; ; i++) {
            String k = prefix + "-" + i;
            BigInteger h = new BigInteger(1, MessageDigest.getInstance("MD5").digest(k.getBytes(StandardCharsets.UTF_8)));
            if (h.compareTo(range[0]) >= 0 && h.compareTo(range[1]) <= 0) {
                return k;
            }
        }
    }

    /**
     * The KPL's aggregated record: magic F3 89 9A C2, a protobuf AggregatedRecord (1: partition key table, 2:
     * explicit hash key table, 3: records {1: key index, 2: hash key index, 3: data}), then the MD5 of the protobuf.
     */
    static byte[] aggregate(List<String[]> users) throws Exception {
        List<String> keys = new ArrayList<>();
        List<String> hashKeys = new ArrayList<>();
        ByteArrayOutputStream pb = new ByteArrayOutputStream();
        ByteArrayOutputStream records = new ByteArrayOutputStream();
        for (String[] u : users) {
            ByteArrayOutputStream rec = new ByteArrayOutputStream();
            if (!keys.contains(u[0])) {
                keys.add(u[0]);
            }
            varintField(rec, 1, keys.indexOf(u[0]));
            if (u[1] != null) {
                if (!hashKeys.contains(u[1])) {
                    hashKeys.add(u[1]);
                }
                varintField(rec, 2, hashKeys.indexOf(u[1]));
            }
            bytesField(rec, 3, u[2].getBytes(StandardCharsets.UTF_8));
            bytesField(records, 3, rec.toByteArray());
        }
        for (String k : keys) {
            bytesField(pb, 1, k.getBytes(StandardCharsets.UTF_8));
        }
        for (String h : hashKeys) {
            bytesField(pb, 2, h.getBytes(StandardCharsets.UTF_8));
        }
        pb.write(records.toByteArray());
        byte[] proto = pb.toByteArray();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0xF3, (byte) 0x89, (byte) 0x9A, (byte) 0xC2});
        out.write(proto);
        out.write(MessageDigest.getInstance("MD5").digest(proto));
        return out.toByteArray();
    }

    static void varintField(ByteArrayOutputStream out, int field, long v) {
        varint(out, (long) field << 3);
        varint(out, v);
    }

    static void bytesField(ByteArrayOutputStream out, int field, byte[] b) {
        varint(out, ((long) field << 3) | 2);
        varint(out, b.length);
        out.write(b, 0, b.length);
    }

    static void varint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }
}
