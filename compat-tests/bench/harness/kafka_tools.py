"""Kafka workloads with Kafka's own tools from the kafka-tools jar: TopicCommand, ProducerPerformance and
ConsumerPerformance. The same jars and settings are used against every Kafka-protocol system."""

import re
import subprocess
import time

from proc import BenchFailure

# ProducerPerformance's summary line, e.g. "300000 records sent, 95374.3 records/sec (93.14 MB/sec), 258.09 ms avg
# latency, 623.00 ms max latency, 253 ms 50th, 480 ms 95th, 560 ms 99th, 613 ms 99.9th." With --warmup-records a
# second one follows for the records after the warm-up: "266900 steady state records sent, ...".
SUMMARY = re.compile(
    r"(\d+) (steady state )?records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
    r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th")

# Producer settings for every run: acks=all; everything else is the Java client's default (batch.size 16384,
# linger.ms 5, max.in.flight 5, no compression, idempotence on).
PRODUCER_PROPS = ["acks=all"]


def create_topic(env, bootstrap, topic, partitions, timeout=180):
    """TopicCommand --create; retried while a just-started broker is not ready to create topics."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    while True:
        r = subprocess.run(env.java(["org.apache.kafka.tools.TopicCommand", "--bootstrap-server", bootstrap,
                                     "--create", "--topic", topic, "--partitions", str(partitions),
                                     "--replication-factor", "1"]),
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode == 0:
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise BenchFailure(f"create topic {topic}: {(r.stdout + r.stderr)[-1500:]}")
        time.sleep(2)


def _perf_argv(env, bootstrap, topic, records, throughput, warmup):
    return env.java(["org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
                     "--num-records", str(records), "--record-size", "1024", "--throughput", str(throughput),
                     *(["--warmup-records", str(warmup)] if warmup else []),
                     "--command-property", f"bootstrap.servers={bootstrap}", *PRODUCER_PROPS],
                    heap="-Xmx512M")


def _parse_summary(out, what, warmup):
    """The whole run's summary, or with a warm-up the steady state's (the whole run's then kept as all_*)."""
    found = {bool(f[1]): f for f in SUMMARY.findall(out)}
    if False not in found or (warmup and True not in found):
        raise BenchFailure(f"{what}: no ProducerPerformance summary in output: {out[-1500:]}")

    def fields(f):
        return {"records": int(f[0]), "records_per_s": float(f[2]), "mb_per_s": float(f[3]) * 1.048576,
                "avg_ms": float(f[4]), "max_ms": float(f[5]), "p50_ms": float(f[6]), "p95_ms": float(f[7]),
                "p99_ms": float(f[8]), "p999_ms": float(f[9])}
    if not warmup:
        return fields(found[False])
    return {**fields(found[True]), "warmup_records": warmup,
            **{f"all_{k}": v for k, v in fields(found[False]).items()}}


def produce(env, bootstrap, topic, records, producers=1, throughput=-1, warmup=0, timeout=900):
    """`producers` ProducerPerformance processes at once, `records` in all. Throughput is the sum of the
    processes' own rates (each measures from its first send, so JVM start-up is not counted); latency
    percentiles are the worst process's. With `warmup`, each process's first `warmup` records (the JVM's JIT, the
    client's first metadata and connections, the server's first appends) are left out of the figures
    (ProducerPerformance --warmup-records); the whole run's are kept as all_*."""
    each = records // producers
    procs = [subprocess.Popen(_perf_argv(env, bootstrap, topic, each, throughput, warmup), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(producers)]
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise BenchFailure(f"produce to {topic}: ProducerPerformance still running after {timeout}s")
        if p.returncode != 0:
            raise BenchFailure(f"produce to {topic}: ProducerPerformance exited {p.returncode}: {err[-1500:]}")
        outs.append(_parse_summary(out, f"produce to {topic}", warmup))
    return {k: (sum if k.endswith(("records", "records_per_s", "mb_per_s")) else max)(o[k] for o in outs)
            for k in outs[0]}


def consume(env, bootstrap, topic, records, timeout=900):
    """ConsumerPerformance (one consumer, a new group, from the earliest offset) until `records` are read.
    Throughput is its fetch.* columns: from the first fetch after the group join, so rebalance time is not
    counted."""
    argv = env.java(["org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", bootstrap,
                     "--topic", topic, "--num-records", str(records), "--timeout", "30000",
                     "--group", f"bench-{topic}-{time.time_ns()}"], heap="-Xmx512M")
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise BenchFailure(f"consume {topic}: ConsumerPerformance exited {r.returncode}: {r.stderr[-1500:]}")
    # Header: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
    # rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
    rows = [line.split(",") for line in r.stdout.splitlines() if line.count(",") >= 9 and line[:1].isdigit()]
    if not rows:
        raise BenchFailure(f"consume {topic}: no ConsumerPerformance result in: {r.stdout[-1500:]}")
    row = [c.strip() for c in rows[-1]]
    got = int(row[4])
    if got < records:
        raise BenchFailure(f"consume {topic}: read {got} of {records} records before the tool's timeout")
    return {"records": got, "records_per_s": float(row[9]), "mb_per_s": float(row[8]) * 1.048576,
            "rebalance_ms": float(row[6]), "fetch_ms": float(row[7]),
            "records_per_s_with_join": float(row[5])}


def end_to_end(env, bootstrap, topic, records, timeout=600):
    """EndToEndLatency (kafka-tools): one 1 KiB record at a time, acks=all, each produced and then awaited by
    a consumer before the next; the time from send to receipt."""
    argv = env.java(["org.apache.kafka.tools.EndToEndLatency", "--bootstrap-server", bootstrap, "--topic", topic,
                     "--num-records", str(records), "--producer-acks", "all", "--record-size", "1024"],
                    heap="-Xmx512M")
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise BenchFailure(f"end-to-end {topic}: EndToEndLatency exited {r.returncode}: "
                           f"{(r.stdout + r.stderr)[-1500:]}")
    avg = re.search(r"Avg latency: ([\d.]+) ms", r.stdout)
    pct = re.search(r"50th = ([\d.]+), 99th = ([\d.]+), 99.9th = ([\d.]+)", r.stdout)
    if not avg or not pct:
        raise BenchFailure(f"end-to-end {topic}: no result in: {r.stdout[-1500:]}")
    return {"records": records, "avg_ms": float(avg.group(1)), "p50_ms": float(pct.group(1)),
            "p99_ms": float(pct.group(2)), "p999_ms": float(pct.group(3))}


RDKAFKA_SUMMARY = re.compile(r"(\d+) messages produced \((\d+) bytes\), (\d+) delivered \(offset -?\d+, (\d+) failed\) in "
                             r"(\d+)ms: (\d+) msgs/s and ([\d.]+) MB/s")


def produce_rdkafka(env, bootstrap, topic, records, timeout=900):
    """librdkafka's rdkafka_performance -P: `records` of 1 KiB, acks=all (-a -1), its other settings at their
    defaults; every record must be delivered."""
    argv = [env.rdkafka_perf, "-P", "-t", topic, "-b", bootstrap, "-s", "1024", "-c", str(records), "-a", "-1",
            "-i", "600000"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    found = RDKAFKA_SUMMARY.findall(r.stdout)
    if r.returncode != 0 or not found:
        raise BenchFailure(f"rdkafka_performance to {topic} exited {r.returncode}: {(r.stdout + r.stderr)[-1500:]}")
    sent, nbytes, delivered, failed, ms, rate, mb = found[-1]
    if int(delivered) < records or int(failed) > 0:
        raise BenchFailure(f"rdkafka_performance to {topic}: {delivered} of {records} delivered, {failed} failed")
    return {"records": int(delivered), "records_per_s": float(rate), "mb_per_s": int(nbytes) / (int(ms) / 1e3) / 1e6,
            "seconds": int(ms) / 1e3}


def end_offsets(env, bootstrap, topic, timeout=60):
    """The sum of the topic's high watermarks (GetOffsetShell --time -1, from the kafka-tools jar) and the
    partitions it answered for."""
    argv = env.java(["org.apache.kafka.tools.GetOffsetShell", "--bootstrap-server", bootstrap, "--topic", topic,
                     "--time", "-1"], heap="-Xmx256M")
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    # One line per partition: topic:partition:offset
    found = re.findall(rf"^{re.escape(topic)}:(\d+):(\d+)$", r.stdout, flags=re.M)
    if r.returncode != 0 or not found:
        raise BenchFailure(f"end offsets of {topic}: GetOffsetShell exited {r.returncode}: "
                           f"{(r.stdout + r.stderr)[-1500:]}")
    return sum(int(o) for _, o in found), len(found)
