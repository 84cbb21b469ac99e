"""A kclpy (v3 interface) record processor that the MultiLangDaemon runs once per shard lease.

It appends one JSON line per event to the file named by KCLPY_OUTPUT (inherited from the daemon's environment):
  {"event": "initialize", "shard": ..., "seq": ..., "subseq": ...}
  {"event": "record", "shard": ..., "seq": ..., "subseq": ..., "pk": ..., "data": base64}
  {"event": "shard_ended", "shard": ...}
A batch is written (one O_APPEND write, so processors of several shards never interleave inside a line) before it
is checkpointed, so every checkpointed record is in the file: at-least-once. Stdout is the MultiLangDaemon protocol
channel; diagnostics go to stderr.
"""
import base64
import json
import os
import sys
import time

from amazon_kclpy import kcl
from amazon_kclpy.v3 import processor

OUTPUT = os.environ["KCLPY_OUTPUT"]


def log(msg):
    sys.stderr.write(f"record_processor[{os.getpid()}]: {msg}\n")
    sys.stderr.flush()


def append(lines):
    payload = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode()
    fd = os.open(OUTPUT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, payload)
        os.fsync(fd)
    finally:
        os.close(fd)


def checkpoint(checkpointer, what, attempts=10):
    """Checkpoints the farthest record delivered so far (or SHARD_END after shard_ended), retrying what KCL
    documents as retryable."""
    for attempt in range(attempts):
        try:
            checkpointer.checkpoint()
            return
        except kcl.CheckpointError as e:
            if e.value == "ShutdownException":
                log(f"{what}: lease gone (ShutdownException), not checkpointed")
                return
            log(f"{what}: checkpoint attempt {attempt + 1} failed: {e.value}")
            time.sleep(0.5)
    raise RuntimeError(f"{what}: checkpoint failed {attempts} times")


class RecordProcessor(processor.RecordProcessorBase):
    def __init__(self):
        self.shard = None

    def initialize(self, initialize_input):
        self.shard = initialize_input.shard_id
        append([{"event": "initialize", "shard": self.shard, "seq": initialize_input.sequence_number,
                 "subseq": initialize_input.sub_sequence_number}])

    def process_records(self, process_records_input):
        records = process_records_input.records
        if not records:
            return
        append([{"event": "record", "shard": self.shard, "seq": r.sequence_number,
                 "subseq": r.sub_sequence_number, "pk": r.partition_key,
                 "data": base64.b64encode(r.binary_data).decode()} for r in records])
        checkpoint(process_records_input.checkpointer, f"{self.shard} batch")

    def lease_lost(self, lease_lost_input):
        log(f"{self.shard}: lease lost")

    def shard_ended(self, shard_ended_input):
        append([{"event": "shard_ended", "shard": self.shard}])
        # KCL starts the child shards only after this SHARD_END checkpoint.
        checkpoint(shard_ended_input.checkpointer, f"{self.shard} shard end")

    def shutdown_requested(self, shutdown_requested_input):
        checkpoint(shutdown_requested_input.checkpointer, f"{self.shard} shutdown")


if __name__ == "__main__":
    kcl.KCLProcess(RecordProcessor()).run()
