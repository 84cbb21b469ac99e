"""/healthz on a 3-node `strait dev --nodes 3`: every node names the same controller leader; a controller leader
whose two followers are kill -9ed reports that no quorum acknowledges it, and a follower left alone reports that it
has no controller leader (both 503, so a load balancer takes them out); with the nodes restarted, all are ready
again."""
import re
import time
import urllib.error
import urllib.request


def healthz(node):
    """(status, body) of the node's /healthz."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{node.admin_port}/healthz", timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:  # not listening (yet)
        return None, str(e)


def controller_leader(cluster, ids):
    """The controller leader the nodes `ids` agree on (waits for one)."""
    deadline = time.time() + 20
    seen = {}
    while time.time() < deadline:
        seen = {i: healthz(cluster.nodes[i]) for i in ids}
        named = {re.search(r"^controller leader: node (\d+)", b, re.M) for _, b in seen.values()}
        leaders = {int(m.group(1)) if m else None for m in named}
        if all(s == 200 for s, _ in seen.values()) and len(leaders) == 1 and None not in leaders:
            return leaders.pop()
        time.sleep(0.2)
    raise AssertionError(f"no agreed controller leader in 20 s: {seen}")


def wait_for(node, status, prefix, timeout=15):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = healthz(node)
        if got[0] == status and got[1].startswith(prefix):
            return got[1]
        time.sleep(0.2)
    raise AssertionError(f"node {node.id}: expected {status} {prefix!r} in {timeout} s, last answer {got}")


def test_healthz_reports_the_controller_quorum(cluster):
    ids = list(cluster.nodes)
    leader = controller_leader(cluster, ids)
    followers = [i for i in ids if i != leader]

    # The leader alone: it still names itself, but nobody acknowledges it.
    for f in followers:
        cluster.kill(f)
    body = wait_for(cluster.nodes[leader], 503, "degraded: no controller quorum")
    print(f"leader {leader} alone: {body.splitlines()[0]}")
    for f in followers:
        cluster.restart(f)
    leader = controller_leader(cluster, ids)

    # A follower alone: it knows no leader.
    survivor = next(i for i in ids if i != leader)
    for victim in (i for i in ids if i != survivor):
        cluster.kill(victim)
    body = wait_for(cluster.nodes[survivor], 503, "degraded: no controller leader")
    print(f"node {survivor} alone: {body.splitlines()[0]}")
    for victim in (i for i in ids if i != survivor):
        cluster.restart(victim)
    controller_leader(cluster, ids)


def test_the_controller_log_is_out_of_clients_reach(cluster):
    """The controller's own log (`__strait_controller`) is a topic on every node's disk, but no client request may
    touch it: deleting it would take the cluster's metadata with it."""
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import NewTopic

    controller = "__strait_controller"
    admin = cluster.admin()
    assert controller not in admin.list_topics(timeout=10).topics
    err = admin.delete_topics([controller], operation_timeout=10)[controller].exception(15)
    assert err is not None and err.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART, err
    err = admin.create_topics([NewTopic("__strait_mine", 1, 3)])["__strait_mine"].exception(15)
    assert err is not None and err.args[0].code() == KafkaError.TOPIC_EXCEPTION, err
    md = admin.list_topics(controller, timeout=10).topics[controller]
    assert md.error is not None and not md.partitions, md
    # Every node still agrees on a controller leader and is ready.
    controller_leader(cluster, list(cluster.nodes))
