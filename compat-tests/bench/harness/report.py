"""Turns a results JSON of bench.py into PNG plots, a Markdown table file, and the generated block of
docs/benchmarks.md (between `<!-- bench:begin -->` and `<!-- bench:end -->`; the text around it is by hand).

    report.py RESULTS.json --plots DIR --table FILE.md [--doc docs/benchmarks.md]
"""

import argparse
import os
import re

import warnings

import matplotlib

matplotlib.use("Agg")
# A subset run (--systems/--skip) leaves some plots empty; matplotlib's warnings about that are noise.
warnings.filterwarnings("ignore", category=UserWarning)
import matplotlib.pyplot as plt  # noqa: E402

STRAITS = ["strait-fsync", "strait-interval"]
KAFKA_SYS = ["kafka-default", "kafka-flush1", "tansu", "strait-fsync", "strait-interval"]
KINESIS_SYS = ["strait-fsync", "strait-interval", "kinesalite", "kinesis-local"]
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


class Data:
    def __init__(self, doc):
        self.meta = doc["meta"]
        self.rows = doc["results"]
        present = {r["system"] for r in self.rows}
        self.kafka = [s for s in KAFKA_SYS if s in present]
        self.kinesis = [s for s in KINESIS_SYS if s in present]

    def get(self, system, workload, **params):
        for r in self.rows:
            if r["system"] == system and r["workload"] == workload and all(
                    r["params"].get(k) == v for k, v in params.items()):
                return r
        return None

    def metric(self, system, workload, key, **params):
        r = self.get(system, workload, **params)
        return r["metrics"].get(key) if r and "metrics" in r else None

    def errors(self):
        return [r for r in self.rows if "error" in r]


def fmt(v, digits=None):
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if digits is not None:
        return f"{v:,.{digits}f}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    return f"**{a / b:.2f}×**"


def table(header, rows, numeric=True):
    """A Markdown table; numeric tables right-align every column but the first."""
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if i and numeric else "---" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def peer_ratio_cols(systems):
    peers = [s for s in systems if s not in STRAITS]
    straits = [s for s in systems if s in STRAITS]
    return [(s, p) for s in straits for p in peers]


# ---------------------------------------------------------------- sections

def section_physical(d):
    seq = d.get("disk", "disk-sequential")
    fs = d.get("disk", "disk-fsync")
    lo = d.get("loopback", "loopback-tcp")
    rows = []
    if seq and "metrics" in seq:
        m = seq["metrics"]
        rows.append(["disk: sequential write + one fdatasync (dd, median of 3)", f"{fmt(m['mb_per_s'])} MB/s",
                     f"runs {', '.join(fmt(x) for x in m['runs_mb_per_s'])} MB/s of {m['mib']} MiB"])
    if fs and "metrics" in fs:
        m = fs["metrics"]
        rows.append(["disk: 16 KiB write + fdatasync, one file", f"{fmt(m['fsyncs_per_s'])} fsyncs/s",
                     f"{fmt(m['mb_per_s'])} MB/s, p50 {fmt(m['p50_ms'])} ms, p99 {fmt(m['p99_ms'])} ms, "
                     f"p99.9 {fmt(m['p999_ms'])} ms"])
    if lo and "metrics" in lo:
        rows.append(["loopback TCP, one stream (Python sendall/recv_into 1 MiB)",
                     f"{fmt(lo['metrics']['mb_per_s'])} MB/s", ""])
    return "### The physical ceiling\n\n" + table(["what", "figure", "detail"], rows, numeric=False)


def section_kafka_produce(d):
    systems = d.kafka
    pairs = peer_ratio_cols(systems)
    head = ["partitions × producers"] + [f"{s} rec/s (MB/s)" for s in systems] + [f"{s} ÷ {p}" for s, p in pairs]
    rows = []
    for parts in (1, 16):
        for prod in (1, 4):
            vals = {s: d.metric(s, "kafka-produce", "records_per_s", partitions=parts, producers=prod)
                    for s in systems}
            mbs = {s: d.metric(s, "kafka-produce", "mb_per_s", partitions=parts, producers=prod) for s in systems}
            rows.append([f"{parts} × {prod}"] + [f"{fmt(vals[s])} ({fmt(mbs[s])})" if vals[s] else "failed"
                                                 for s in systems] + [ratio(vals[s], vals[p]) for s, p in pairs])
    n = d.meta["config"]["produce_records"]
    slow = d.meta["config"].get("produce_records_slow")
    slow_note = (f" ({slow:,} on kafka-flush1, which runs at a few thousand records/s, so that its runs take "
                 "about as long)") if "kafka-flush1" in systems and slow else ""
    return ("### Kafka produce throughput\n\n"
            f"`ProducerPerformance` (kafka-tools {d.meta['versions'].get('kafka', '?').split()[0]}), {n:,}{slow_note} records of 1 KiB per run (split evenly over the "
            "producers, each its own JVM process, figures summed), `acks=all`, client defaults otherwise "
            "(batch.size 16384, linger.ms 5, 5 in flight, idempotent, no compression). MB/s = 2^20 bytes/s as "
            "the tool prints it converted to 10^6. Ratios above 1 mean Strait is faster.\n\n"
            + table(head, rows) + "\n\n" + rdkafka_table(d, systems, pairs)
            + "\n\n![Kafka produce](PLOTS/kafka-produce.png)")


def rdkafka_table(d, systems, pairs):
    rows = []
    for parts in (1, 16):
        vals = {s: d.metric(s, "kafka-produce-rdkafka", "records_per_s", partitions=parts) for s in systems}
        mbs = {s: d.metric(s, "kafka-produce-rdkafka", "mb_per_s", partitions=parts) for s in systems}
        rows.append([f"{parts} × 1"] + [f"{fmt(vals[s])} ({fmt(mbs[s])})" if vals[s] else "failed"
                                        for s in systems] + [ratio(vals[s], vals[p]) for s, p in pairs])
    head = ["partitions × producers"] + [f"{s} rec/s (MB/s)" for s in systems] + [f"{s} ÷ {p}" for s, p in pairs]
    n = d.meta["config"].get("rdkafka_records", 0)
    return ("The same with librdkafka 2.12.1's C load generator, `rdkafka_performance -P -s 1024 -a -1` (acks=all, "
            f"its other settings at their defaults, records to random partitions), one process, {n:,} records on "
            "every system:\n\n"
            + table(head, rows))


def section_kafka_latency(d):
    systems = d.kafka
    peers = [s for s in systems if s not in STRAITS]
    head = ["system", "target rate", "achieved rec/s", "p50 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms",
            "whole run p99 / max ms"] + [f"p99 ÷ {p}'s" for p in peers]
    rows = []
    rate = None
    for s in systems:
        r = d.get(s, "kafka-latency")
        if not r or "metrics" not in r:
            rows.append([s, "—", "failed" if r else "not run", "", "", "", "", "", ""] + ["" for _ in peers])
            continue
        m, rate = r["metrics"], r["params"]["rate"]
        shown_rate = fmt(rate) + (" (saturated: above its max)" if r["params"].get("saturated") else "")
        p99s = [ratio(m["p99_ms"], d.metric(p, "kafka-latency", "p99_ms")) if s in STRAITS else "" for p in peers]
        whole = f"{fmt(m['all_p99_ms'])} / {fmt(m['all_max_ms'])}" if "all_p99_ms" in m else "—"
        rows.append([s, shown_rate, fmt(m["records_per_s"]), fmt(m["p50_ms"]), fmt(m["p95_ms"]), fmt(m["p99_ms"]),
                     fmt(m["p999_ms"]), fmt(m["max_ms"]), whole] + p99s)
    warm = d.meta["config"].get("latency_warmup_seconds")
    warm_text = (f"The first {warm} s of records at the same rate are a warm-up, left out of the percentiles "
                 "(`--warmup-records`): the client JVM's JIT, its first connections and metadata, and each "
                 "server's first appends put 100–500 ms latencies into the first seconds on every system; the "
                 "whole run's p99 and max, warm-up included, are in their own column. ") if warm else (
                 "No warm-up: the percentiles include the client JVM's first seconds. ")
    return ("### Kafka produce latency at a fixed rate\n\n"
            f"`ProducerPerformance --throughput {fmt(rate)}`: half of Apache Kafka's (default settings) measured "
            "maximum for one producer on one partition, for "
            f"{d.meta['config']['latency_seconds']} s, one partition, `acks=all`. " + warm_text +
            "Latency is the tool's send → "
            "acknowledgement time per record (it includes time waiting in the client's batch, up to linger.ms). "
            "A system whose own one-partition maximum is below the rate is run saturated: as many records as its "
            "maximum sends in the same time, its latency then being mostly queueing in the client. "
            "Ratios below 1 mean Strait's p99 is lower.\n\n"
            + table(head, rows) + "\n\n![Kafka latency](PLOTS/kafka-latency.png)")


def section_kafka_e2e(d):
    systems = d.kafka
    peers = [s for s in systems if s not in STRAITS]
    head = ["system", "avg ms", "p50 ms", "p99 ms", "p99.9 ms"] + [f"p99 ÷ {p}'s" for p in peers]
    rows = []
    for s in systems:
        r = d.get(s, "kafka-e2e-latency")
        if not r or "metrics" not in r:
            rows.append([s, "failed" if r else "not run", "", "", ""] + ["" for _ in peers])
            continue
        m = r["metrics"]
        rows.append([s, fmt(m["avg_ms"]), fmt(m["p50_ms"]), fmt(m["p99_ms"]), fmt(m["p999_ms"])] + [
            ratio(m["p99_ms"], d.metric(p, "kafka-e2e-latency", "p99_ms")) if s in STRAITS else "" for p in peers])
    return ("### Kafka end-to-end latency (produce → consumer receive)\n\n"
            f"`EndToEndLatency` (kafka-tools): {d.meta['config'].get('e2e_records', 0):,} records of 1 KiB, one at "
            "a time, `acks=all`, each sent and then polled by a consumer of the same one-partition topic before "
            "the next. Lower is better; ratios below 1 mean Strait is faster.\n\n" + table(head, rows))


def section_kafka_consume(d):
    systems = d.kafka
    pairs = peer_ratio_cols(systems)
    vals = {s: d.metric(s, "kafka-consume", "records_per_s") for s in systems}
    mbs = {s: d.metric(s, "kafka-consume", "mb_per_s") for s in systems}
    head = ["workload"] + [f"{s} rec/s (MB/s)" for s in systems] + [f"{s} ÷ {p}" for s, p in pairs]
    row = ["catch-up read, 16 partitions"] + [f"{fmt(vals[s])} ({fmt(mbs[s])})" if vals[s] else "failed"
                                              for s in systems] + [ratio(vals[s], vals[p]) for s, p in pairs]
    return ("### Kafka consume throughput\n\n"
            "`ConsumerPerformance` (one consumer, new group, from the earliest offset) reading all the records the "
            "16-partition single-producer run wrote; the "
            "tool's fetch.* figures (from the first fetch after the group join).\n\n" + table(head, [row]))


def section_kinesis(d):
    systems = d.kinesis
    pairs = peer_ratio_cols(systems)
    head = ["workload"] + [f"{s}" for s in systems] + [f"{s} ÷ {p}" for s, p in pairs]
    put = {s: d.metric(s, "kinesis-put", "records_per_s") for s in systems}
    putmb = {s: d.metric(s, "kinesis-put", "mb_per_s") for s in systems}
    p99 = {s: d.metric(s, "kinesis-put", "call_p99_ms") for s in systems}
    get = {s: d.metric(s, "kinesis-get", "records_per_s") for s in systems}
    rows = [
        ["PutRecords rec/s (MB/s)"] + [f"{fmt(put[s])} ({fmt(putmb[s])})" if put[s] else "failed" for s in systems]
        + [ratio(put[s], put[p]) for s, p in pairs],
        ["PutRecords call p99 ms"] + [fmt(p99[s]) for s in systems] + ["" for _ in pairs],
        ["GetRecords read-back rec/s"] + [fmt(get[s]) if get[s] else "failed" for s in systems]
        + [ratio(get[s], get[p]) for s, p in pairs],
    ]
    c = d.meta["config"]
    return ("### Kinesis PutRecords and GetRecords\n\n"
            f"`bench-kinesis` (aws-sdk-kinesis 1.130.0 for Rust, the same binary for every server): "
            f"{c['put_writers']} writers, each with one PutRecords call of 500 × 1 KiB records in flight, for "
            f"{c['put_seconds']} s into a stream of {c['kinesis_shards']} shards (distinct partition keys); then a "
            "catch-up read of every record, one reader per shard, GetRecords with Limit 10000 from TRIM_HORIZON."
            "\n\n" + table(head, rows) + "\n\n![Kinesis](PLOTS/kinesis.png)")


def section_kinesis_efo(d):
    rows = []
    for s in d.kinesis:
        r = d.get(s, "kinesis-efo-latency")
        if not r or "metrics" not in r:
            rows.append([s, "failed (see Failures)" if r else "not run"] + [""] * 7)
            continue
        m, g = r["metrics"], r["metrics"].get("getrecords", {})
        poll = (f"{fmt(g.get('p50_ms'))} / {fmt(g.get('p99_ms'))}" if "error" not in g
                else g["error"]) if g else "—"
        rows.append([s, f"{m['count']:,}", fmt(m["p50_ms"]), fmt(m["p99_ms"]), fmt(m["p999_ms"]), fmt(m["max_ms"]),
                     m.get("renewals", 0), m.get("duplicates", 0), poll])
    r0 = next((r for r in d.rows if r["workload"] == "kinesis-efo-latency"), None)
    p = r0["params"] if r0 else {}
    return ("### Kinesis SubscribeToShard (enhanced fan-out) delivery latency\n\n"
            f"`bench-kinesis subscribe-latency`: a stream of {p.get('shards', '?')} shards, a registered consumer, "
            "one SubscribeToShard per shard from LATEST (renewed after the last continuation sequence number "
            f"when the server ends it), then PutRecord calls at {p.get('rate', '?')} records/s for "
            f"{p.get('seconds', '?')} s, each 1 KiB record carrying its send time; latency is receive − send in "
            "the same process. Every record must arrive (a lost one fails the run). For comparison, one GetRecords "
            "poller per shard (from LATEST, a call every 200 ms while idle, AWS's limit being 5 a second) reads "
            "the same records.\n\n"
            + table(["system", "records", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "renewals", "duplicates",
                     "GetRecords poller p50 / p99 ms"], rows))


def section_cross(d):
    s = "strait-fsync"
    rows = []
    k2k = d.metric(s, "cross-kafka-to-kinesis", "records_per_s")
    k2kk = d.metric(s, "kafka-consume", "records_per_s")
    s2k = d.metric(s, "cross-kinesis-to-kafka", "records_per_s")
    s2s = d.metric(s, "kinesis-get", "records_per_s")
    rows.append(["Kafka produce (ProducerPerformance) → Kinesis GetRecords read-back", fmt(k2k),
                 f"Kinesis GetRecords of Kinesis-written records: {fmt(s2s)}", ratio(k2k, s2s)])
    rows.append(["Kinesis PutRecords (bench-kinesis) → Kafka consume (ConsumerPerformance)", fmt(s2k),
                 f"Kafka consume of Kafka-written records: {fmt(k2kk)}", ratio(s2k, k2kk)])
    put_mb = d.metric(s, "kinesis-put", "mb_per_s")
    kafka_mb, which = best_kafka_mb(d, s)
    rows.append(["Kinesis PutRecords MB/s vs the fastest Kafka produce MB/s", fmt(put_mb),
                 f"Kafka produce ({which}): {fmt(kafka_mb)} MB/s", ratio(put_mb, kafka_mb)])
    return ("### Cross-protocol (Strait only: no peer speaks both)\n\n"
            f"strait-fsync; {d.meta['config']['cross_records']:,} records of 1 KiB into 16 partitions/shards, then "
            "read back whole through the other protocol.\n\n"
            + table(["path", "records/s", "same-protocol read for comparison", "ratio"], rows, numeric=False))


def section_scale(d):
    rows = []
    for s in ("strait-fsync", "kafka-default"):
        for r in d.rows:
            if r["system"] == s and r["workload"] == "scale":
                if "metrics" in r:
                    m = r["metrics"]
                    rows.append([s, r["params"].get("partitions", "—"), fmt(m.get("create_s")), fmt(m["rss_mib"]),
                                 fmt(m["peak_rss_mib"]), m["open_files"]])
                else:
                    rows.append([s, r["params"].get("partitions", "—"), "failed", "", "", ""])
    restart = []
    for s in ("strait-fsync", "kafka-default"):
        r = d.get(s, "restart-after-kill9")
        if r:
            restart.append([s, r["params"].get("partitions"), fmt(r["metrics"]["ready_s"]) if "metrics" in r
                            else "failed"])
    mem = []
    for s in dict.fromkeys(d.kafka + d.kinesis):
        m = d.metric(s, "memory-after-workloads", "peak_rss_mib")
        mem.append([s, fmt(m), fmt(d.metric(s, "memory-after-workloads", "rss_mib"))])
    return ("### Scale: partitions, memory, open files\n\n"
            "A fresh server each; one `TopicCommand --create` per step adds the partitions (one topic), then 5 s of "
            "rest before resident memory (VmRSS of the process group) and open files are read from /proc. Apache "
            "Kafka finishes creating partitions in the background after CreateTopics answers, so its figures at a "
            "step may not yet include all of them (its open files show how far it got).\n\n"
            + table(["system", "partitions", "create s", "RSS MiB", "peak RSS MiB", "open files"], rows)
            + "\n\n![Scale](PLOTS/scale.png)\n\n"
            "Restart after `kill -9` of the server holding those partitions (no record data in them: the "
            "recovery with data is the next section), from the new process's start until it answers a Kafka "
            "ApiVersions request (Strait: and its /healthz is 200):\n\n"
            + table(["system", "partitions", "seconds to serve"], restart)
            + "\n\nResident memory after each system's workloads above:\n\n"
            + table(["system", "peak RSS MiB", "RSS at end MiB"], mem))


BASE = "strait-baseline"


def baseline_rows(d):
    """(label, this build's figure, the baseline's, higher_is_better) for each workload of the before/after table."""
    rows = []
    for parts in (1, 16):
        for prod in (1, 4):
            rows.append((f"kafka-produce {parts} p × {prod} rec/s", "kafka-produce", "records_per_s",
                         {"partitions": parts, "producers": prod}, True))
    for parts in (1, 16):
        rows.append((f"kafka-produce-rdkafka {parts} p rec/s", "kafka-produce-rdkafka", "records_per_s",
                     {"partitions": parts}, True))
    rows += [("kafka-consume 16 p rec/s", "kafka-consume", "records_per_s", {}, True),
             ("kafka-latency p50 ms", "kafka-latency", "p50_ms", {}, False),
             ("kafka-latency p99 ms", "kafka-latency", "p99_ms", {}, False),
             ("kinesis-put rec/s", "kinesis-put", "records_per_s", {}, True),
             ("kinesis-put call p99 ms", "kinesis-put", "call_p99_ms", {}, False),
             ("kinesis-get rec/s", "kinesis-get", "records_per_s", {}, True),
             ("kinesis-efo-latency p99 ms", "kinesis-efo-latency", "p99_ms", {}, False)]
    return [(label, d.metric("strait-fsync", w, k, **p), d.metric(BASE, w, k, **p), hib)
            for label, w, k, p, hib in rows]


def section_baseline(d):
    rev = d.meta.get("baseline_rev", "?")
    rows = [[label, fmt(now), fmt(base), ratio(now, base), "higher" if hib else "lower"]
            for label, now, base, hib in baseline_rows(d) if now is not None or base is not None]
    return (f"### Before/after (this build vs {rev})\n\n"
            f"`bench.sh --baseline {rev.split(' ')[0]}`: Strait built at that revision, run as `strait-baseline` "
            "with the same settings as `strait-fsync` (fsync=always) right after it, through the same Kafka and "
            "Kinesis workloads. The ratio is this build ÷ the baseline: above 1 is faster for rates, below 1 is "
            "faster for latencies. One run each on a shared machine: differences of a few percent are noise.\n\n"
            + table(["workload", "strait-fsync (this build)", f"strait-baseline ({rev})", "ratio", "better"], rows)
            + "\n\n![Before/after](PLOTS/before-after.png)")


def section_recovery(d):
    rows = []
    gib = None
    for s in ("strait-fsync", "kafka-default"):
        r = d.get(s, "recovery-after-kill9")
        if not r:
            continue
        gib = r["params"].get("gib", gib)
        if "metrics" not in r:
            rows.append([s, "failed (see Failures)"] + [""] * 7)
            continue
        m = r["metrics"]
        rows.append([s, fmt(m["data_gib"]), f"{m['acknowledged']:,}", fmt(m["write_records_per_s"]),
                     fmt(m["ready_s"]), f"{fmt(m['offsets_s'])} ({fmt(m.get('offsets_tool_s'))})",
                     f"{m['hw_after']:,}", fmt(m["rss_before_kill_mib"]),
                     fmt(m["rss_mib"])])
    if not rows:
        return "### Recovery after kill -9 with data\n\nNot run."
    return ("### Recovery after kill -9 with data\n\n"
            f"A fresh server; {fmt(gib)} GiB of 1 KiB records into one 16-partition topic with "
            "`rdkafka_performance -a -1` (every record acknowledged), the high watermarks read (`GetOffsetShell "
            "--time -1`), `kill -9` of the process group, the same command restarted on the same data. "
            "\"ready\" is from the new process's start until it answers ApiVersions (Strait: and /healthz); "
            "\"offsets\" until `GetOffsetShell` gets an answer for all 16 partitions (in brackets: how long one such "
            "call took before the kill, mostly the tool's JVM start, to subtract). The high watermarks afterwards must sum "
            "to at least the acknowledged records (else the run is a failure). Data is what the server holds on "
            "disk before the kill (its whole data directory).\n\n"
            + table(["system", "data GiB", "acknowledged records", "write rec/s", "ready s", "offsets s (tool alone)",
                     "high watermarks after", "RSS before kill MiB", "RSS after restart MiB"], rows))


def best_kafka_mb(d, system):
    """The fastest Kafka produce of a system in this run (either client), and which run it was."""
    best = (None, "none")
    for r in d.rows:
        if r["system"] == system and r["workload"] in ("kafka-produce", "kafka-produce-rdkafka") and "metrics" in r:
            mb = r["metrics"]["mb_per_s"]
            if best[0] is None or mb > best[0]:
                client = "librdkafka" if r["workload"] == "kafka-produce-rdkafka" else "ProducerPerformance"
                best = (mb, f"{client}, {r['params']['partitions']} p × {r['params']['producers']}")
    return best


def section_targets(d):
    def r(a, b):
        return None if a is None or b is None or b == 0 else a / b

    rows = []

    def add(label, op, goal, value, as_):
        met = "—" if value is None else ("yes" if (value >= goal if op == ">=" else value <= goal) else "**no**")
        rows.append([label, f"{'≥' if op == '>=' else '≤'} {goal}×", fmt(value), met, as_])

    k = lambda s, **p: d.metric(s, "kafka-produce", "records_per_s", **p)
    rk = lambda s, parts: d.metric(s, "kafka-produce-rdkafka", "records_per_s", partitions=parts)
    for parts, prod in ((1, 1), (16, 4)):
        add(f"Kafka produce vs Kafka, equal durability (Java, {parts} p × {prod})", ">=", 1.5,
            r(k("strait-fsync", partitions=parts, producers=prod), k("kafka-flush1", partitions=parts,
                                                                     producers=prod)),
            "strait-fsync ÷ kafka-flush1")
        add(f"Kafka produce vs Kafka default while Strait fsyncs (Java, {parts} p × {prod})", ">=", 1.0,
            r(k("strait-fsync", partitions=parts, producers=prod), k("kafka-default", partitions=parts,
                                                                     producers=prod)),
            "strait-fsync ÷ kafka-default")
    for parts in (1, 16):
        add(f"Kafka produce vs Kafka, equal durability (librdkafka, {parts} p)", ">=", 1.5,
            r(rk("strait-fsync", parts), rk("kafka-flush1", parts)), "strait-fsync ÷ kafka-flush1")
        add(f"Kafka produce vs Kafka default while Strait fsyncs (librdkafka, {parts} p)", ">=", 1.0,
            r(rk("strait-fsync", parts), rk("kafka-default", parts)), "strait-fsync ÷ kafka-default")
    lat = lambda s: d.metric(s, "kafka-latency", "p99_ms")
    add("p99 produce latency at 50% of Kafka's max, vs Kafka default", "<=", 0.5,
        r(lat("strait-fsync"), lat("kafka-default")), "strait-fsync p99 ÷ kafka-default p99")
    add("p99 produce latency at 50% of Kafka's max, vs Kafka flush-per-message", "<=", 0.5,
        r(lat("strait-fsync"), lat("kafka-flush1")), "strait-fsync p99 ÷ kafka-flush1 p99")
    put = lambda s: d.metric(s, "kinesis-put", "records_per_s")
    add("Kinesis PutRecords vs kinesalite", ">=", 50, r(put("strait-fsync"), put("kinesalite")),
        "strait-fsync ÷ kinesalite")
    add("Kinesis PutRecords vs kinesis-local", ">=", 10, r(put("strait-fsync"), put("kinesis-local")),
        "strait-fsync ÷ kinesis-local")
    best, which = best_kafka_mb(d, "strait-fsync")
    add("Strait Kinesis path vs its Kafka path (bytes/s)", ">=", 0.5,
        r(d.metric("strait-fsync", "kinesis-put", "mb_per_s"), best),
        f"PutRecords MB/s ÷ its fastest Kafka produce MB/s ({which})")
    out = "### Against the issue's targets\n\n" + table(["target", "goal", "measured", "met", "as"], rows,
                                                         numeric=False)
    big = [x for x in d.rows if x["system"] == "strait-fsync" and x["workload"] == "scale" and "metrics" in x]
    if big:
        top = max(big, key=lambda x: x["params"].get("partitions", 0))
        out += (f"\n\nResident memory with {top['params']['partitions']:,} partitions: "
                f"{fmt(top['metrics']['rss_mib'])} MiB (strait-fsync VmRSS; target: 10,000 partitions in under "
                "2 GiB).")
    return out


def section_header(d):
    m, mc = d.meta, d.meta["machine"]
    sys_rows = [[f"`{k}`", v["what"], v["settings"]] for k, v in m["systems"].items()]
    ver = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    return (f"_Generated by `compat-tests/bench/bench.sh{' --quick' if m['mode'] == 'quick' else ''}` "
            f"({m['mode']} mode), {m['started']} → {m.get('finished', 'unfinished')} "
            f"({m.get('seconds', '?')} s). Rerun it to refresh this block._\n\n"
            f"**Machine.** {mc['nproc']} cores ({mc['cpu']}), {mc['mem_gib']} GiB RAM, kernel {mc['kernel']}; "
            f"load average at start {' '.join(mc['loadavg_start'])}, at end {' '.join(m.get('loadavg_end', []))}"
            " (each result row in the JSON carries the load average when it was taken). "
            "This is a shared 2-core virtual machine: other builds may have been running, so read ratios from "
            "one run, not absolute figures across runs.\n\n"
            f"```\n{mc['disk']}\n```\n\n**Versions.** {ver}.\n\n**Systems** (each started alone, on 127.0.0.1, "
            "data on the disk above, stopped by PID before the next):\n\n"
            + table(["name", "what", "settings"], sys_rows, numeric=False))


def section_errors(d):
    errs = d.errors()
    if not errs:
        return "### Failures\n\nNone: every workload ran on every system it was asked of."
    rows = [[e["system"], e["workload"], str(e["params"]), e["error"].splitlines()[0][:300].replace("|", "\\|")]
            for e in errs]
    return "### Failures (recorded, not hidden)\n\n" + table(["system", "workload", "params", "error"], rows, numeric=False)


# ---------------------------------------------------------------- plots

COLORS = {"kafka-default": "#7f7f7f", "kafka-flush1": "#404040", "tansu": "#2ca02c", "strait-fsync": "#1f77b4",
          "strait-interval": "#6baed6", "strait-baseline": "#9467bd", "kinesalite": "#ff7f0e", "kinesis-local": "#d62728"}


def bars(ax, groups, systems, value, ylabel, log=False):
    width = 0.8 / max(1, len(systems))
    for i, s in enumerate(systems):
        ys = [value(s, g) or 0 for g in groups]
        xs = [j + (i - (len(systems) - 1) / 2) * width for j in range(len(groups))]
        ax.bar(xs, ys, width, label=s, color=COLORS.get(s))
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g[0] for g in groups])
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)


def plots(d, outdir):
    sub = f"{d.meta['mode']} mode, {d.meta['started'][:10]}"
    fig, ax = plt.subplots(figsize=(10, 4.5))
    groups = [(f"Java {p}p×{n}", "kafka-produce", p, n) for p in (1, 16) for n in (1, 4)] + [
        (f"librdkafka {p}p×1", "kafka-produce-rdkafka", p, 1) for p in (1, 16)]
    bars(ax, groups, d.kafka, lambda s, g: d.metric(s, g[1], "mb_per_s", partitions=g[2], producers=g[3]),
         "MB/s (1 KiB records, acks=all)")
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(f"Kafka produce throughput: ProducerPerformance and rdkafka_performance ({sub})")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "kafka-produce.png"), dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    groups = [("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms"), ("p99.9", "p999_ms")]
    bars(ax, groups, d.kafka, lambda s, g: d.metric(s, "kafka-latency", g[1]), "ms (log scale)", log=True)
    ax.set_title(f"Kafka produce latency at a fixed rate, 1 partition ({sub})")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "kafka-latency.png"), dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    groups = [("PutRecords", "kinesis-put"), ("GetRecords read-back", "kinesis-get")]
    bars(ax, groups, d.kinesis, lambda s, g: d.metric(s, g[1], "records_per_s"), "records/s (log scale)",
         log=True)
    ax.set_title(f"Kinesis, aws-sdk-kinesis load generator ({sub})")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "kinesis.png"), dpi=90)
    plt.close(fig)

    if any(r["system"] == BASE for r in d.rows):
        pairs = [(label, now / base if hib else base / now) for label, now, base, hib in baseline_rows(d)
                 if now and base]
        fig, ax = plt.subplots(figsize=(10, 4.5))
        ax.barh([p[0] for p in pairs], [p[1] for p in pairs], color=COLORS["strait-fsync"])
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xlabel("speed-up of this build over the baseline (rates: now ÷ before; latencies: before ÷ now)")
        ax.tick_params(axis="y", labelsize=8)
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
        ax.set_title(f"Before/after: strait-fsync vs {d.meta.get('baseline_rev', '?')} ({sub})")
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, "before-after.png"), dpi=90)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for s in ("strait-fsync", "kafka-default"):
        pts = sorted((r["params"]["partitions"], r["metrics"]["rss_mib"]) for r in d.rows
                     if r["system"] == s and r["workload"] == "scale" and "metrics" in r)
        if pts:
            ax.plot([p for p, _ in pts], [m for _, m in pts], marker="o", label=s, color=COLORS.get(s))
    ax.set_xlabel("partitions")
    ax.set_ylabel("resident memory MiB")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"Resident memory by partition count ({sub})")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "scale.png"), dpi=90)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--plots", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--doc")
    a = ap.parse_args()
    import json
    with open(a.results) as f:
        d = Data(json.load(f))
    os.makedirs(a.plots, exist_ok=True)
    plots(d, a.plots)
    raw = os.path.relpath(a.results, os.path.dirname(os.path.abspath(a.doc))) if a.doc else a.results
    body = "\n\n".join([section_header(d) + f"\n\nRaw data of this run: `{raw}`.", section_targets(d), section_physical(d), section_kafka_produce(d),
                        section_kafka_latency(d), section_kafka_e2e(d), section_kafka_consume(d), section_kinesis(d), section_kinesis_efo(d),
                        section_cross(d),
                        section_scale(d), section_recovery(d)]
                       + ([section_baseline(d)] if any(r["system"] == BASE for r in d.rows) else [])
                       + [section_errors(d)])
    with open(a.table, "w") as f:
        raw = os.path.relpath(a.results, os.path.dirname(os.path.abspath(a.table)))
        f.write(f"# Benchmark results ({d.meta['mode']} mode)\n\nRaw data: [`{raw}`]({raw}).\n\n"
                + body.replace("PLOTS/", "") + "\n")
    if a.doc:
        rel = os.path.relpath(a.plots, os.path.dirname(os.path.abspath(a.doc)) or ".")
        block = f"{BEGIN}\n{body.replace('PLOTS/', rel + '/')}\n{END}"
        with open(a.doc) as f:
            text = f.read()
        if BEGIN in text and END in text:
            text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        with open(a.doc, "w") as f:
            f.write(text)
    print(f"report: {a.table}" + (f", {a.doc}" if a.doc else ""))


if __name__ == "__main__":
    main()
