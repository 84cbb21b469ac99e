"""CloudWatch PutMetricData (KCL publishes metrics by default) against a real Strait, and its figures on the admin
endpoint's Prometheus `/metrics`.

boto3/botocore 1.44.5 picks the first protocol it supports from the model's `protocols` list
(`smithy-rpc-v2-cbor`, `json`, `query`) in its own priority order, which puts `json` first: the boto3 client
below speaks AWS JSON 1.0 (`X-Amz-Target: GraniteServiceVersion20100801.PutMetricData`). The awsQuery form and
the rpcv2-CBOR protocol are sent raw, signed with botocore's SigV4 signer.
"""
import http.client
import json
import struct
import time
import urllib.request
import uuid
from urllib.parse import urlencode, urlparse

import boto3
import botocore.exceptions
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from conftest import ACCESS_KEY, REGION, SECRET_KEY


@pytest.fixture(scope="module")
def cloudwatch(strait):
    return boto3.client(
        "cloudwatch",
        endpoint_url=strait.endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30),
    )


def namespace():
    return f"Compat/{uuid.uuid4().hex[:10]}"


def metrics_text(strait):
    with urllib.request.urlopen(f"http://127.0.0.1:{strait.admin_port}/metrics", timeout=10) as r:
        return r.read().decode()


def sample(text, name, **labels):
    """The value of the first `name{...}` sample carrying all `labels`, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def send(strait, path, body, headers):
    req = AWSRequest(method="POST", url=strait.endpoint + path, data=body, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "monitoring", REGION).add_auth(req)
    u = urlparse(strait.endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=dict(req.headers.items()))
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_boto3_put_metric_data_reaches_prometheus(strait, cloudwatch):
    ns = namespace()
    cloudwatch.put_metric_data(
        Namespace=ns,
        MetricData=[
            {"MetricName": "RecordsProcessed", "Dimensions": [{"Name": "ShardId", "Value": "shardId-000000000000"}],
             "StatisticValues": {"SampleCount": 4, "Sum": 100, "Minimum": 10, "Maximum": 40}, "Unit": "Count",
             "Timestamp": time.time()},
            {"MetricName": "Latency", "Values": [5, 10], "Counts": [2, 1], "Unit": "Milliseconds"},
            {"MetricName": "Gauge", "Value": 2.5},
        ],
    )
    cloudwatch.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "RecordsProcessed", "Dimensions": [{"Name": "ShardId", "Value": "shardId-000000000000"}],
         "StatisticValues": {"SampleCount": 1, "Sum": 7, "Minimum": 7, "Maximum": 7}}])
    text = metrics_text(strait)
    shard = {"namespace": ns, "metric": "RecordsProcessed", "shard_id": "shardId-000000000000"}
    assert sample(text, "strait_cloudwatch_summed_value", **shard) == 107
    assert sample(text, "strait_cloudwatch_samples", **shard) == 5
    assert sample(text, "strait_cloudwatch_value", **shard) == 7
    assert sample(text, "strait_cloudwatch_summed_value", namespace=ns, metric="Latency") == 20
    assert sample(text, "strait_cloudwatch_samples", namespace=ns, metric="Latency") == 3
    assert sample(text, "strait_cloudwatch_value", namespace=ns, metric="Gauge") == 2.5


def test_boto3_sees_cloudwatch_error_codes(cloudwatch):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cloudwatch.put_metric_data(Namespace="AWS/Kinesis", MetricData=[{"MetricName": "M", "Value": 1}])
    err = e.value.response["Error"]
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err["Code"] == "InvalidParameterValue"
    assert err["Message"] == "The value AWS/Kinesis for parameter Namespace is invalid."
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cloudwatch.put_metric_data(Namespace=namespace(), MetricData=[
            {"MetricName": "M", "Value": 1, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1,
                                                                 "Maximum": 1}}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterCombination"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cloudwatch.put_metric_data(Namespace=namespace(), MetricData=[
            {"MetricName": "M", "Value": 1, "Dimensions": [{"Name": f"d{i}", "Value": "v"} for i in range(31)]}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_raw_aws_query_form(strait):
    ns = namespace()
    body = urlencode({
        "Action": "PutMetricData", "Version": "2010-08-01", "Namespace": ns,
        "MetricData.member.1.MetricName": "QueryMetric", "MetricData.member.1.Value": "42",
        "MetricData.member.1.Dimensions.member.1.Name": "Worker.Id",
        "MetricData.member.1.Dimensions.member.1.Value": "w-1",
    })
    status, headers, resp = send(strait, "/", body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert status == 200, resp
    text = resp.decode()
    assert text.startswith('<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">')
    assert f"<RequestId>{headers['x-amzn-requestid']}</RequestId>" in text
    assert sample(metrics_text(strait), "strait_cloudwatch_value", namespace=ns, metric="QueryMetric",
                  worker_id="w-1") == 42
    # An error in the query protocol is an XML ErrorResponse.
    status, _, resp = send(strait, "/", urlencode({"Action": "PutMetricData", "Version": "2010-08-01"}),
                           {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400
    assert b"<Code>MissingParameter</Code>" in resp


def test_raw_json_1_0(strait):
    ns = namespace()
    body = json.dumps({"Namespace": ns, "MetricData": [{"MetricName": "JsonMetric", "Value": 3}]})
    status, headers, resp = send(strait, "/", body, {
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData"})
    assert status == 200, resp
    assert json.loads(resp) == {}
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert sample(metrics_text(strait), "strait_cloudwatch_value", namespace=ns, metric="JsonMetric") == 3


def cbor_text(s):
    b = s.encode()
    assert len(b) < 256
    return (bytes([0x60 | len(b)]) if len(b) < 24 else bytes([0x78, len(b)])) + b


def test_raw_rpc_v2_cbor(strait):
    ns = namespace()
    # {"Namespace": ns, "MetricData": [{"MetricName": "CborMetric", "Value": 1.5, "Timestamp": tag1(now)}]}
    body = (b"\xa2" + cbor_text("Namespace") + cbor_text(ns) + cbor_text("MetricData") + b"\x81\xa3"
            + cbor_text("MetricName") + cbor_text("CborMetric") + cbor_text("Value") + b"\xfb" + struct.pack(">d", 1.5)
            + cbor_text("Timestamp") + b"\xc1\xfb" + struct.pack(">d", time.time()))
    status, headers, resp = send(strait, "/service/GraniteServiceVersion20100801/operation/PutMetricData", body, {
        "Content-Type": "application/cbor", "Accept": "application/cbor", "smithy-protocol": "rpc-v2-cbor"})
    assert status == 200, resp
    assert headers["smithy-protocol"] == "rpc-v2-cbor"
    assert sample(metrics_text(strait), "strait_cloudwatch_value", namespace=ns, metric="CborMetric") == 1.5


def test_unsigned_request_is_refused_in_the_query_shape(strait):
    u = urlparse(strait.endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("POST", "/", body="Action=PutMetricData&Version=2010-08-01&Namespace=X",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        status, body = resp.status, resp.read()
    finally:
        conn.close()
    assert status == 403
    assert b"<Code>MissingAuthenticationToken</Code>" in body
