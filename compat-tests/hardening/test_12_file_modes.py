"""Defect 12 (file modes): data files and directories were created world-readable (0644/0755 under the usual
umask), so any local user could read every record. Everything the node creates under its data directory must be
owner-only, whatever the umask allows."""
import os
import stat

from confluent_kafka import Producer

from conftest import assert_serves


def _walk(root):
    yield root
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            yield os.path.join(dirpath, name)


def test_data_files_are_owner_only(make_node):
    # The most permissive common umask: whatever the node leaves group/other-readable shows up.
    node = make_node(wrapper=["sh", "-c", 'umask 000 && exec "$@"', "sh"])
    p = Producer({"bootstrap.servers": node.bootstrap, "acks": "all"})
    for i in range(50):
        p.produce("modes", key=b"k", value=b"secret-%d" % i)
    assert p.flush(30) == 0
    k = node.client("kinesis")
    k.create_stream(StreamName="modes-stream", ShardCount=1)
    k.get_waiter("stream_exists").wait(StreamName="modes-stream", WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    k.put_record(StreamName="modes-stream", Data=b"secret", PartitionKey="pk")
    # Checked while stopped: a clean stop also writes the index files and the clean-shutdown marker.
    node.stop()

    exposed, seen = [], 0
    for path in _walk(node.data_dir):
        mode = stat.S_IMODE(os.lstat(path).st_mode)
        seen += 1
        if mode & 0o077:
            exposed.append(f"{oct(mode)} {os.path.relpath(path, node.data_dir)}")
    assert seen > 5, f"only {seen} entries under the data dir"
    assert os.path.exists(os.path.join(node.data_dir, ".clean-shutdown"))
    assert not exposed, "readable by group or others:\n" + "\n".join(exposed)
    node.start()
    assert_serves(node)
