"""SigV4 on the AWS port of a real `strait serve` (verification on by default): boto3 with the right keys works;
a wrong secret, an unknown key, a wrong or missing session token and another region get Kinesis's errors; a
presigned request (botocore's query signer; Kinesis clients never presign, so this is what curl would send) works
until it expires; serve without access keys refuses to start."""
import datetime
import os
import subprocess
import tempfile
import urllib.error
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.exceptions import ClientError

from conftest import KEY, REGION, TEMP_KEY, TOKEN


def error(e):
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def test_right_keys_work_end_to_end(node):
    k = node.kinesis()
    k.create_stream(StreamName="iam-orders", ShardCount=1)
    k.get_waiter("stream_exists").wait(StreamName="iam-orders", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    put = k.put_record(StreamName="iam-orders", Data=b"signed", PartitionKey="p")
    it = k.get_shard_iterator(StreamName="iam-orders", ShardId=put["ShardId"],
                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in k.get_records(ShardIterator=it)["Records"]] == [b"signed"]


def test_wrong_secret_is_invalid_signature(node):
    with pytest.raises(ClientError) as e:
        node.kinesis(key=(KEY[0], "not-the-secret")).list_streams()
    code, msg = error(e)
    assert code == "InvalidSignatureException", msg
    assert msg.startswith("The request signature we calculated does not match the signature you provided."), msg


def test_unknown_key_is_unrecognized_client(node):
    with pytest.raises(ClientError) as e:
        node.kinesis(key=("AKIDNOBODY", KEY[1])).list_streams()
    assert error(e) == ("UnrecognizedClientException", "The security token included in the request is invalid.")


def test_other_region_is_refused(node):
    with pytest.raises(ClientError) as e:
        node.kinesis(region="eu-west-1").list_streams()
    code, msg = error(e)
    assert code == "InvalidSignatureException" and "valid region" in msg, msg


def test_temporary_credentials_need_their_session_token(node):
    assert "StreamNames" in node.kinesis(key=TEMP_KEY, token=TOKEN).list_streams()
    for token in ("another-token", None):
        with pytest.raises(ClientError) as e:
            node.kinesis(key=TEMP_KEY, token=token).list_streams()
        assert error(e)[0] == "UnrecognizedClientException", (token, error(e))
    # A session token sent with a long-term key is refused as well.
    with pytest.raises(ClientError) as e:
        node.kinesis(token=TOKEN).list_streams()
    assert error(e)[0] == "UnrecognizedClientException"


@pytest.mark.parametrize("minutes", [-6, 6])
def test_skew_past_five_minutes_is_signature_expired(node, monkeypatch, minutes):
    skewed = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(minutes=minutes)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: skewed)
    with pytest.raises(ClientError) as e:
        node.kinesis().list_streams()
    code, msg = error(e)
    assert code == "InvalidSignatureException", msg
    assert msg.startswith(("Signature expired: ", "Signature not yet current: ")) and "5 min." in msg, msg


class _QueryAuthKeepingBody(botocore.auth.SigV4QueryAuth):
    """botocore's query-string signer, which moves a body into the query string (awsQuery style) and empties it;
    a JSON protocol needs its body, which is then signed as sent."""

    def _modify_request_before_signing(self, request):
        body = request.data
        super()._modify_request_before_signing(request)
        request.data = body


def _presigned(node, expires, key=KEY):
    """A ListStreams POST signed in its query string (X-Amz-Algorithm, ..., X-Amz-Signature)."""
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=node.endpoint + "/", data=b"{}",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.ListStreams"})
    _QueryAuthKeepingBody(botocore.credentials.Credentials(*key), "kinesis", REGION,
                          expires=expires).add_auth(req)
    prepared = req.prepare()
    assert "X-Amz-Signature=" in prepared.url and "Authorization" not in prepared.headers
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return urllib.request.Request(prepared.url, data=body, method="POST", headers=dict(prepared.headers))


def test_presigned_request_works_and_tampering_fails(node):
    with urllib.request.urlopen(_presigned(node, 60), timeout=10) as r:
        assert r.status == 200 and b"StreamNames" in r.read()
    bad = _presigned(node, 60, key=(KEY[0], "wrong"))
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(bad, timeout=10)
    assert b"InvalidSignatureException" in e.value.read()


def test_presigned_request_expires(node, monkeypatch):
    past = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(seconds=120)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: past)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(_presigned(node, 60), timeout=10)
    body = e.value.read()
    assert b"InvalidSignatureException" in body and b"Signature expired" in body, body


def test_serve_without_access_keys_refuses_to_start():
    with tempfile.TemporaryDirectory(prefix="strait-iam-") as tmp:
        path = os.path.join(tmp, "strait.toml")
        with open(path, "w") as f:
            f.write(f'[node]\ndata_dir = "{tmp}/data"\n')
        env = {k: v for k, v in os.environ.items() if not (k.startswith("STRAIT_") and "__" in k)}
        r = subprocess.run([os.environ["STRAIT_BIN"], "serve", "--config", path], env=env,
                           capture_output=True, text=True, timeout=30)
    assert r.returncode != 0, "serve started with no access keys and SigV4 on by default"
    assert "aws.auth" in r.stderr and "access_keys" in r.stderr, r.stderr
