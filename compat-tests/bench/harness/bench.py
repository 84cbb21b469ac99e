"""The benchmark run: every system started in turn on 127.0.0.1, the same workloads with the same clients against
each, everything stopped by PID, results written as one JSON file. Started by compat-tests/bench/bench.sh, which
installs the peers and clients first; `report.py` turns the JSON into plots and docs/benchmarks.md.

A workload that fails on one system is recorded as an error for that system and the run goes on: a peer that
cannot run a workload is a result too."""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
import traceback

import kafka_tools
import kinesis_tools
import physical
import systems
from proc import BenchFailure

# strait-baseline (bench.sh --baseline REV) runs right after strait-fsync, so the two see the same machine state.
KAFKA_ORDER = ["kafka-default", "kafka-flush1", "tansu", "strait-fsync", "strait-baseline", "strait-interval"]
KINESIS_ORDER = ["strait-fsync", "strait-baseline", "strait-interval", "kinesalite", "kinesis-local"]

# Sizes per mode. Records are 1 KiB everywhere. Systems in SLOW (a few thousand records/s) produce
# `produce_records_slow` per run instead, so that a run takes about as long as on the others.
SLOW = {"kafka-flush1", "tansu"}
MODES = {
    "quick": {"produce_records": 200_000, "produce_records_slow": 40_000, "e2e_records": 2000, "rdkafka_records": 1_000_000, "latency_seconds": 20, "latency_warmup_seconds": 5, "put_seconds": 10, "put_writers": 4,
              "kinesis_shards": 4, "efo_seconds": 20, "cross_records": 100_000, "scale": [1000, 10000], "recovery_gib": 2, "disk_mib": 512,
              "fsync_count": 1000},
    # Only checks that the harness works end to end; its figures mean nothing.
    "smoke": {"produce_records": 20_000, "produce_records_slow": 10_000, "e2e_records": 200, "rdkafka_records": 20_000, "latency_seconds": 3, "latency_warmup_seconds": 1, "put_seconds": 3, "put_writers": 2,
              "kinesis_shards": 2, "efo_seconds": 3, "cross_records": 10_000, "scale": [200], "recovery_gib": 0.25, "disk_mib": 64, "fsync_count": 100},
    "full": {"produce_records": 2_000_000, "produce_records_slow": 500_000, "e2e_records": 20000, "rdkafka_records": 2_000_000, "latency_seconds": 60, "latency_warmup_seconds": 10, "put_seconds": 30, "put_writers": 8,
             "kinesis_shards": 8, "efo_seconds": 60, "cross_records": 500_000, "scale": [1000, 10000], "recovery_gib": 10, "disk_mib": 2048,
             "fsync_count": 5000},
}


EFO_RATE = 200  # records/s put during kinesis-efo-latency


class Env:
    """Paths and launchers shared by all workloads."""

    def __init__(self, a):
        self.work = a.dir
        self.logs = os.path.join(a.dir, "logs")
        self.peers = a.peers
        self.strait_bin = a.strait_bin
        self.baseline_bin = a.baseline_bin
        self.kinesis_bin = a.kinesis_bin
        self.rdkafka_perf = a.rdkafka_perf
        self.kafka_jars = os.path.join(a.peers, "kafka-jars")
        self.log4j = os.path.join(systems.HERE, "kafka", "log4j2.properties")

    def java(self, args, heap="-Xmx512M"):
        return ["java", *heap.split(), "-XX:+UseG1GC", f"-Dlog4j2.configurationFile={self.log4j}",
                "-cp", os.path.join(self.kafka_jars, "*"), *args]


class Results:
    def __init__(self, path, meta):
        self.path = path
        self.doc = {"meta": meta, "results": []}

    def add(self, system, workload, params, metrics=None, error=None):
        row = {"system": system, "workload": workload, "params": params,
               "at": datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S"),
               "loadavg": open("/proc/loadavg").read().split()[:3]}
        if error is not None:
            row["error"] = error
        else:
            row["metrics"] = metrics
        self.doc["results"].append(row)
        self.save()
        shown = error if error is not None else {k: (round(v, 2) if isinstance(v, float) else v)
                                                 for k, v in metrics.items()}
        print(f"[{row['at']}] {system:16} {workload:22} {json.dumps(params)} -> {shown}", flush=True)

    def save(self):
        with open(self.path, "w") as f:
            json.dump(self.doc, f, indent=1)

    def value(self, system, workload, key, **params):
        for r in self.doc["results"]:
            if r["system"] == system and r["workload"] == workload and "metrics" in r and all(
                    r["params"].get(k) == v for k, v in params.items()):
                return r["metrics"].get(key)
        return None


def attempt(res, system, workload, params, fn):
    try:
        m = fn()
        res.add(system, workload, params, metrics=m)
        return m
    except (BenchFailure, subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
        res.add(system, workload, params, error=f"{type(e).__name__}: {e}")
        return None


def kafka_suite(env, res, sysname, run, cfg, latency_rate):
    n = cfg["produce_records_slow"] if sysname in SLOW else cfg["produce_records"]
    for parts in (1, 16):
        for producers in (1, 4):
            topic = f"p{parts}-x{producers}"
            params = {"partitions": parts, "producers": producers, "records": n}
            attempt(res, sysname, "kafka-produce", params,
                    lambda: (kafka_tools.create_topic(env, run.kafka, topic, parts),
                             kafka_tools.produce(env, run.kafka, topic, n, producers))[1])
    # The same with librdkafka's C load generator: one process (librdkafka batches and pipelines on its own
    # threads), records to random partitions.
    # It reports elapsed time in whole polls of about a second, so it gets more records than the Java runs, the
    # same number on every system (kafka-flush1 included: with this client it is not slow).
    nr = cfg["rdkafka_records"]
    for parts in (1, 16):
        topic = f"r{parts}"
        attempt(res, sysname, "kafka-produce-rdkafka", {"partitions": parts, "producers": 1, "records": nr},
                lambda: (kafka_tools.create_topic(env, run.kafka, topic, parts),
                         kafka_tools.produce_rdkafka(env, run.kafka, topic, nr))[1])
    # Catch-up read of what the 16-partition single-producer run wrote.
    attempt(res, sysname, "kafka-consume", {"partitions": 16, "records": n},
            lambda: kafka_tools.consume(env, run.kafka, "p16-x1", n))
    e2e = cfg["e2e_records"]
    attempt(res, sysname, "kafka-e2e-latency", {"partitions": 1, "records": e2e},
            lambda: (kafka_tools.create_topic(env, run.kafka, "e2e", 1),
                     kafka_tools.end_to_end(env, run.kafka, "e2e", e2e))[1])
    rate = latency_rate()
    if rate:
        # A system whose own maximum (1 partition, 1 producer) is below the rate cannot keep it: it gets as many
        # records as its maximum sends in the same time, so the run still ends in about latency_seconds, and
        # the result is marked saturated (its latency is then queueing in the client).
        # The first seconds (the client JVM's JIT, first connections and metadata, each server's first appends)
        # are a warm-up left out of the percentiles: with it measured, 5 s of 100-500 ms latencies set every
        # system's p99, Kafka's and Strait's alike.
        own = res.value(sysname, "kafka-produce", "records_per_s", partitions=1, producers=1)
        saturated = bool(own and own < rate)
        per_s = own if saturated else rate
        warmup = int(per_s * cfg["latency_warmup_seconds"])
        records = warmup + int(per_s * cfg["latency_seconds"])
        params = {"partitions": 1, "producers": 1, "rate": rate, "records": records, "warmup_records": warmup,
                  "saturated": saturated}
        attempt(res, sysname, "kafka-latency", params,
                lambda: (kafka_tools.create_topic(env, run.kafka, "lat", 1),
                         kafka_tools.produce(env, run.kafka, "lat", records, 1, throughput=rate, warmup=warmup))[1])
    else:
        res.add(sysname, "kafka-latency", {}, error="no Kafka maximum measured to derive the fixed rate from")


def kinesis_suite(env, res, sysname, run, cfg):
    shards, writers = cfg["kinesis_shards"], cfg["put_writers"]
    stream = "kput"
    params = {"shards": shards, "writers": writers, "batch": 500, "seconds": cfg["put_seconds"]}
    put = attempt(res, sysname, "kinesis-put", params,
                  lambda: (kinesis_tools.create(env, run.kinesis, stream, shards),
                           kinesis_tools.put(env, run.kinesis, stream, writers, cfg["put_seconds"]))[1])
    if put:
        attempt(res, sysname, "kinesis-get", {"shards": shards, "records": put["records"]},
                lambda: kinesis_tools.get(env, run.kinesis, stream, put["records"]))
    # Enhanced fan-out: delivery latency at a fixed, modest rate (AWS's per-shard limit is 1,000 records/s).
    attempt(res, sysname, "kinesis-efo-latency", {"shards": shards, "rate": EFO_RATE, "seconds": cfg["efo_seconds"]},
            lambda: kinesis_tools.efo_latency(env, run.kinesis, "kefo", shards, EFO_RATE, cfg["efo_seconds"]))


def cross_suite(env, res, sysname, run, cfg):
    n = cfg["cross_records"]
    attempt(res, sysname, "cross-kafka-to-kinesis", {"partitions": 16, "records": n},
            lambda: (kafka_tools.create_topic(env, run.kafka, "xk", 16),
                     kafka_tools.produce(env, run.kafka, "xk", n, 1),
                     kinesis_tools.get(env, run.kinesis, "xk", n))[2])

    def kinesis_to_kafka():
        kinesis_tools.create(env, run.kinesis, "xs", 16)
        put = kinesis_tools.put(env, run.kinesis, "xs", cfg["put_writers"], 600, max_records=n)
        if put["records"] < n:
            raise BenchFailure(f"only {put['records']} of {n} records accepted")
        return kafka_tools.consume(env, run.kafka, "xs", n)

    attempt(res, sysname, "cross-kinesis-to-kafka", {"shards": 16, "records": n}, kinesis_to_kafka)


def scale_suite(env, res, sysname, cfg):
    """A fresh server: memory and open files idle, then after each step of partition count (one TopicCommand
    --create per step, of as many partitions as the step adds), and the time the create took."""
    try:
        run = systems.start(sysname, env)
    except BenchFailure as e:
        res.add(sysname, "scale", {}, error=str(e))
        return
    try:
        time.sleep(3)
        res.add(sysname, "scale", {"partitions": 0}, metrics=run.server.memory())
        have = 0
        for target in cfg["scale"]:
            params = {"partitions": target}

            def grow(target=target):
                nonlocal have
                took = kafka_tools.create_topic(env, run.kafka, f"scale-{target}", target - have, timeout=900)
                have = target
                time.sleep(5)
                return {"create_s": took, **run.server.memory()}

            attempt(res, sysname, "scale", params, grow)
        attempt(res, sysname, "restart-after-kill9", {"partitions": have},
                lambda: {"ready_s": run.crash_restart(), **run.server.memory()})
    finally:
        run.stop()


def _version(binary):
    try:
        r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def recovery_suite(env, res, sysname, cfg):
    """A fresh server: `recovery_gib` GiB of 1 KiB records into 16 partitions (rdkafka_performance, acks=all),
    the high watermarks read back, kill -9, and the time until the restarted server serves again: first its
    readiness check (as restart-after-kill9), then until ListOffsets answers for every partition. Every
    acknowledged record must still be below the high watermarks afterwards."""
    gib = cfg["recovery_gib"]
    records = int(gib * 2**30 / 1024)
    params = {"partitions": 16, "records": records, "gib": gib}
    # Kafka keeps the data once plus indexes; twice the size and 2 GiB spare leaves room for both.
    free = physical.free_bytes(env.work)
    if free < 2 * gib * 2**30 + 2**31:
        res.add(sysname, "recovery-after-kill9", params,
                error=f"only {free / 2**30:.1f} GiB free under {env.work} for {gib} GiB of records")
        return
    try:
        run = systems.start(sysname, env)
    except BenchFailure as e:
        res.add(sysname, "recovery-after-kill9", params, error=str(e))
        return

    def recover():
        kafka_tools.create_topic(env, run.kafka, "recovery", 16)
        wrote = kafka_tools.produce_rdkafka(env, run.kafka, "recovery", records)
        tool = time.monotonic()
        before, parts = kafka_tools.end_offsets(env, run.kafka, "recovery")
        # offsets_s includes one GetOffsetShell run (mostly its JVM start): this is that run's own time.
        tool_s = time.monotonic() - tool
        if before < wrote["records"]:
            raise BenchFailure(f"high watermarks sum to {before} before the kill, {wrote['records']} acknowledged")
        data_gib = physical.du_bytes(run.data_dir) / 2**30
        mem_before = run.server.memory()
        ready_s = run.crash_restart()
        t = time.monotonic()
        deadline = t + 900
        while True:
            try:
                after, parts_after = kafka_tools.end_offsets(env, run.kafka, "recovery")
                if parts_after == parts:
                    break
                err = f"ListOffsets answered for {parts_after} of {parts} partitions"
            except (BenchFailure, subprocess.TimeoutExpired) as e:
                err = str(e)
            if time.monotonic() > deadline:
                raise BenchFailure(f"offsets not served 900 s after the restart: {err}")
            time.sleep(0.5)
        offsets_s = ready_s + time.monotonic() - t
        if after < wrote["records"]:
            raise BenchFailure(f"lost records: high watermarks sum to {after} after the restart, "
                               f"{wrote['records']} acknowledged before the kill")
        return {"ready_s": ready_s, "offsets_s": offsets_s, "offsets_tool_s": tool_s,
                "acknowledged": wrote["records"],
                "hw_before": before, "hw_after": after, "data_gib": data_gib,
                "write_records_per_s": wrote["records_per_s"], "rss_before_kill_mib": mem_before["rss_mib"],
                **run.server.memory()}

    try:
        attempt(res, sysname, "recovery-after-kill9", params, recover)
    finally:
        run.stop()   # also deletes its data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=sorted(MODES), default="quick")
    ap.add_argument("--dir", required=True, help="scratch directory for data (same disk for every system)")
    ap.add_argument("--peers", required=True, help="where bench.sh installed the peers")
    ap.add_argument("--strait-bin", required=True)
    ap.add_argument("--kinesis-bin", required=True)
    ap.add_argument("--rdkafka-perf", required=True, help="librdkafka's rdkafka_performance")
    ap.add_argument("--out", required=True, help="results JSON to write")
    ap.add_argument("--versions", required=True, help="JSON object of versions gathered by bench.sh")
    ap.add_argument("--systems", default="", help="comma-separated subset of systems (default: all)")
    ap.add_argument("--skip", default="",
                    help="comma-separated parts to skip: physical,kafka,kinesis,cross,scale,recovery")
    ap.add_argument("--baseline-bin", help="strait built at an earlier revision: run as strait-baseline")
    ap.add_argument("--baseline-rev", help="that revision, as asked and as a short hash (for the report)")
    a = ap.parse_args()
    cfg = MODES[a.mode]
    only = set(filter(None, a.systems.split(",")))
    skip = set(filter(None, a.skip.split(",")))
    # strait-baseline runs when a baseline binary is given (asking for it is the choice), and never otherwise.
    want = lambda s: bool(a.baseline_bin) if s == "strait-baseline" else (not only or s in only)
    env = Env(a)
    shutil.rmtree(a.dir, ignore_errors=True)
    os.makedirs(env.logs)
    meta = {"mode": a.mode, "config": cfg, "started": datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds"), "machine": physical.machine(a.dir), "versions": json.loads(a.versions),
        "systems": {k: {"what": v[0], "settings": v[2]} for k, v in systems.SYSTEMS.items() if want(k)},
        "producer_props": kafka_tools.PRODUCER_PROPS}
    if a.baseline_bin:
        meta["versions"]["strait-baseline"] = f"{_version(a.baseline_bin)} @ {a.baseline_rev}"
        meta["baseline_rev"] = a.baseline_rev
    res = Results(a.out, meta)
    t0 = time.monotonic()

    if "physical" not in skip:
        attempt(res, "disk", "disk-sequential", {"mib": cfg["disk_mib"]},
                lambda: physical.disk_sequential(a.dir, cfg["disk_mib"]))
        attempt(res, "disk", "disk-fsync", {"writes": cfg["fsync_count"], "bytes": 16384},
                lambda: physical.fsync_latency(a.dir, cfg["fsync_count"]))
        attempt(res, "loopback", "loopback-tcp", {"streams": 1}, lambda: physical.loopback())

    def latency_rate():
        # 50% of Apache Kafka's (default settings) measured maximum, one producer, one partition.
        m = res.value("kafka-default", "kafka-produce", "records_per_s", partitions=1, producers=1)
        return int(m * 0.5) if m else None

    order = [s for s in dict.fromkeys(KAFKA_ORDER + KINESIS_ORDER) if want(s)]
    for sysname in order:
        protos = systems.SYSTEMS[sysname][1]
        todo = [p for p in ("kafka", "kinesis") if p in protos and p not in skip]
        do_cross = sysname == "strait-fsync" and "cross" not in skip
        if not todo and not do_cross:
            continue
        try:
            run = systems.start(sysname, env)
        except BenchFailure as e:
            res.add(sysname, "start", {}, error=str(e))
            continue
        try:
            if "kafka" in todo:
                kafka_suite(env, res, sysname, run, cfg, latency_rate)
            if "kinesis" in todo:
                kinesis_suite(env, res, sysname, run, cfg)
            if do_cross:
                cross_suite(env, res, sysname, run, cfg)
            res.add(sysname, "memory-after-workloads", {}, metrics=run.server.memory())
        except Exception as e:  # noqa: BLE001 - record, stop this system by PID, and go on with the next
            res.add(sysname, "suite", {}, error=f"{type(e).__name__}: {e}\n{traceback.format_exc()[-1500:]}")
        finally:
            run.stop()

    if "scale" not in skip:
        for sysname in ("strait-fsync", "kafka-default"):
            if want(sysname):
                scale_suite(env, res, sysname, cfg)

    if "recovery" not in skip:
        for sysname in ("strait-fsync", "kafka-default"):
            if want(sysname):
                recovery_suite(env, res, sysname, cfg)

    res.doc["meta"]["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    res.doc["meta"]["seconds"] = round(time.monotonic() - t0)
    res.doc["meta"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    res.save()
    print(f"results: {a.out} ({res.doc['meta']['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
