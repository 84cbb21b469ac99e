"""DynamoDB on a cluster (what KCL's lease tables use): conditional writes sent to different nodes at the same time
must behave as on one table, because every node hands its DynamoDB requests to the one node that serialises
them (the controller leader). boto3 clients on all three nodes race, round after round, for the same lease
(`attribute_not_exists`) and for optimistic version bumps (`version = :v`): exactly one wins each lease, and the
final version equals the number of bumps that were acknowledged (no lost update). Every node then reads the same
items.
"""
import threading

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

TABLE = "cluster-leases"
ROUNDS = 25
BUMPS_PER_CLIENT = 15


def client(node):
    return boto3.client(
        "dynamodb", endpoint_url=node.aws_endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=2, read_timeout=20))


def conditional_failed(e):
    return isinstance(e, ClientError) and e.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_conditional_writes_through_every_node_are_serialised(cluster):
    clients = [client(n) for _, n in sorted(cluster.nodes.items())]
    clients[0].create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "leaseKey", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "leaseKey", "KeyType": "HASH"}])
    clients[0].get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})

    # Leases: in each round the three clients try to create the same lease at the same moment.
    winners = {}
    errors = []
    barrier = threading.Barrier(len(clients))

    def take(i, c):
        try:
            for r in range(ROUNDS):
                barrier.wait(30)
                try:
                    c.put_item(TableName=TABLE, Item={"leaseKey": {"S": f"shard-{r}"}, "leaseOwner": {"S": f"w{i}"}},
                               ConditionExpression="attribute_not_exists(leaseKey)")
                    winners.setdefault(r, []).append(i)
                except ClientError as e:
                    if not conditional_failed(e):
                        raise
        except BaseException as e:
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=take, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, f"lease taking failed: {errors[0]!r}"
    assert sorted(winners) == list(range(ROUNDS)), f"rounds without a winner: {set(range(ROUNDS)) - set(winners)}"
    doubles = {r: w for r, w in winners.items() if len(w) != 1}
    assert not doubles, f"leases taken by more than one worker: {doubles}"

    # Optimistic version bumps: read, then write version+1 only if nobody else did meanwhile.
    clients[0].put_item(TableName=TABLE, Item={"leaseKey": {"S": "counter"}, "version": {"N": "0"}})
    acked = [0] * len(clients)

    def bump(i, c):
        try:
            done = 0
            while done < BUMPS_PER_CLIENT:
                item = c.get_item(TableName=TABLE, Key={"leaseKey": {"S": "counter"}}, ConsistentRead=True)["Item"]
                v = int(item["version"]["N"])
                try:
                    c.update_item(TableName=TABLE, Key={"leaseKey": {"S": "counter"}},
                                  UpdateExpression="SET version = :n", ConditionExpression="version = :v",
                                  ExpressionAttributeValues={":v": {"N": str(v)}, ":n": {"N": str(v + 1)}})
                    done += 1
                    acked[i] += 1
                except ClientError as e:
                    if not conditional_failed(e):
                        raise
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=bump, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, f"version bumps failed: {errors[0]!r}"
    finals = [int(c.get_item(TableName=TABLE, Key={"leaseKey": {"S": "counter"}}, ConsistentRead=True)
                  ["Item"]["version"]["N"]) for c in clients]
    assert finals == [sum(acked)] * len(clients), f"final versions {finals} after {sum(acked)} acknowledged bumps"
    owners = [{it["leaseKey"]["S"]: it.get("leaseOwner", {}).get("S") for it in
               c.scan(TableName=TABLE, ConsistentRead=True)["Items"]} for c in clients]
    assert owners[0] == owners[1] == owners[2], "nodes disagree about the lease owners"
    print(f"\ndynamodb: {ROUNDS} leases raced by 3 workers on 3 nodes, one winner each; {sum(acked)} version bumps "
          f"acknowledged {acked}, final version {finals[0]} on every node")
