"""Defect 10: with `aws.auth = "sigv4"`, a signature only counts for what it names. Signatures scoped to another
region (a boto3 client in eu-west-1) or another service (botocore's signer as `s3`, or a Kinesis signature on a
DynamoDB request) used to be accepted, and an unsigned X-Amz-Target let a captured request be replayed as another
operation. Each now gets AWS's InvalidSignatureException; a correctly signed client still works."""
import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import assert_serves

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# assert_serves signs with the suite's dummy keys, so they are configured too.
KEYS = (f'[{{access_key_id="{KEY}",secret_access_key="{SECRET}"}},'
        '{access_key_id="AKIDHARDENING",secret_access_key="s3cr3t"}]')


def client(node, service, region):
    return boto3.client(service, endpoint_url=node.endpoint, region_name=region, aws_access_key_id=KEY,
                        aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}))


def send(node, target, body, service="kinesis", region="us-east-1", unsigned_target=False,
         content_type="application/x-amz-json-1.1"):
    """One request signed by botocore's SigV4Auth as `service` in `region`; with `unsigned_target` the
    X-Amz-Target header is added after signing. Returns (status, parsed body)."""
    headers = {"Content-Type": content_type}
    if not unsigned_target:
        headers["X-Amz-Target"] = target
    req = AWSRequest(method="POST", url=node.endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(KEY, SECRET), service, region).add_auth(req)
    prepared = req.prepare()
    sent = dict(prepared.headers)
    if unsigned_target:
        sent["X-Amz-Target"] = target
    return exchange(prepared.url, prepared.body, sent)


def exchange(url, body, headers):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers, method="POST"),
                                    timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def refused(status, body, message):
    assert status == 400, (status, body)
    assert body["__type"].endswith("InvalidSignatureException"), body
    assert body["message"] == message, body


@pytest.fixture
def node(make_node):
    # Kafka stays open on purpose (assert_serves uses a plain Kafka client), which sigv4 now requires saying.
    return make_node(env={"STRAIT_AWS__AUTH": "sigv4", "STRAIT_AWS__ACCESS_KEYS": KEYS,
                          "STRAIT_SECURITY__ALLOW_UNAUTHENTICATED_KAFKA": "true"})


def test_scope_and_signed_headers_are_enforced(node):
    # A client configured for another region: Kinesis, and DynamoDB and CloudWatch on the same port.
    metric = {"Namespace": "Hardening", "MetricData": [{"MetricName": "m", "Value": 1.0}]}
    # CloudWatch names the failure with its awsQuery code, as AWS does.
    for service, code, call in [
            ("kinesis", "InvalidSignatureException", lambda c: c.list_streams()),
            ("dynamodb", "InvalidSignatureException", lambda c: c.list_tables()),
            ("cloudwatch", "SignatureDoesNotMatch", lambda c: c.put_metric_data(**metric))]:
        with pytest.raises(ClientError) as e:
            call(client(node, service, "eu-west-1"))
        err = e.value.response["Error"]
        assert err["Code"] == code, err
        assert err["Message"] == "Credential should be scoped to a valid region, not 'eu-west-1'. ", err

    # A valid signature for another service.
    refused(*send(node, "Kinesis_20131202.ListStreams", b"{}", service="s3"),
            "Credential should be scoped to correct service: 'kinesis'. ")
    refused(*send(node, "DynamoDB_20120810.ListTables", b"{}", service="kinesis",
                  content_type="application/x-amz-json-1.0"),
            "Credential should be scoped to correct service: 'dynamodb'. ")

    # X-Amz-Target outside the signature: the same signed body could be sent as DeleteStream.
    body = json.dumps({"StreamName": "victim"}).encode()
    refused(*send(node, "Kinesis_20131202.DeleteStream", body, unsigned_target=True),
            "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.")

    # Correct clients work (CloudWatch signs as `monitoring`), and a signed request replayed with another target is
    # refused.
    client(node, "cloudwatch", "us-east-1").put_metric_data(**metric)
    assert "TableNames" in client(node, "dynamodb", "us-east-1").list_tables()
    good = client(node, "kinesis", "us-east-1")
    good.create_stream(StreamName="victim", ShardCount=1)
    good.get_waiter("stream_exists").wait(StreamName="victim", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.DescribeStream"}
    req = AWSRequest(method="POST", url=node.endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(KEY, SECRET), "kinesis", "us-east-1").add_auth(req)
    prepared = req.prepare()
    status, described = exchange(prepared.url, prepared.body, dict(prepared.headers))
    assert status == 200 and described["StreamDescription"]["StreamName"] == "victim", (status, described)
    replay = dict(prepared.headers, **{"X-Amz-Target": "Kinesis_20131202.DeleteStream"})
    status, answer = exchange(prepared.url, prepared.body, replay)
    assert status == 400 and answer["__type"].endswith("InvalidSignatureException"), (status, answer)
    assert good.describe_stream_summary(StreamName="victim")["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"

    assert_serves(node)
