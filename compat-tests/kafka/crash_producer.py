"""Produces until killed, appending one line per acknowledged record to a log: `partition offset value`.

Run by test_crash_kill9.py as a separate process so that a kill -9 of the broker cannot take acknowledgements
with it: a line is written (and flushed) only from the delivery callback of a successful acks=all produce.
"""
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, tag, log_path = sys.argv[1:5]
log = open(log_path, "a", buffering=1)


def on_delivery(err, msg):
    if err is None:
        log.write(f"{msg.partition()} {msg.offset()} {msg.value().decode()}\n")
        log.flush()


p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 2,
              "message.timeout.ms": 5000, "reconnect.backoff.max.ms": 200})
# Paced at about 5,000 records/s: every round re-reads the whole log to check every acknowledgement, so an
# unbounded producer would make the test's run time grow with the machine's speed.
i = 0
while True:
    for _ in range(50):
        try:
            p.produce(topic, key=str(i % 13).encode(), value=f"{tag}-{i}".encode(), on_delivery=on_delivery)
            i += 1
        except BufferError:
            break
    p.poll(0)
    time.sleep(0.01)
