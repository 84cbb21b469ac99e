"""SigV4 verification (`aws.auth = sigv4` with configured access keys): botocore's real signer is accepted; a wrong
secret, an unknown key, a clock skewed past Kinesis's 5 minutes and a missing Authorization header get AWS's errors."""
import datetime
import http.client
import json
import re
from urllib.parse import urlparse

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY, ENV_ACCESS_KEYS, ENV_AUTH, SECRET_KEY, create_active, start_strait, stop_strait
from test_envelope import send


@pytest.fixture(scope="module")
def secured():
    keys = f'[{{access_key_id="{ACCESS_KEY}", secret_access_key="{SECRET_KEY}"}}]'
    # Kafka stays open on purpose (this suite tests the AWS API only); a node refuses that unless told.
    tmp, s = start_strait({ENV_AUTH: "sigv4", ENV_ACCESS_KEYS: keys,
                           "STRAIT_SECURITY__ALLOW_UNAUTHENTICATED_KAFKA": "true"})
    yield s
    stop_strait(tmp, s)


def error(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def test_valid_signature_is_accepted(secured):
    kinesis = secured.client()
    name = create_active(kinesis)
    put = kinesis.put_record(StreamName=name, PartitionKey="p", Data=b"signed")
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=put["ShardId"],
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert kinesis.get_records(ShardIterator=it)["Records"][0]["Data"] == b"signed"


def test_wrong_secret_is_invalid_signature(secured):
    with pytest.raises(ClientError) as e:
        secured.client(secret_key="not-the-secret").list_streams()
    code, msg = error(e)
    assert code == "InvalidSignatureException", msg
    assert msg.startswith("The request signature we calculated does not match the signature you provided."), msg
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)


def test_unknown_access_key_is_unrecognized_client(secured):
    with pytest.raises(ClientError) as e:
        secured.client(access_key="AKIDUNKNOWN000000000").list_streams()
    assert error(e) == ("UnrecognizedClientException", "The security token included in the request is invalid.")


@pytest.mark.parametrize("minutes", [-20, -6, 6, 20])
def test_skewed_clock_is_signature_expired(secured, monkeypatch, minutes):
    skewed = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(minutes=minutes)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: skewed)
    with pytest.raises(ClientError) as e:
        secured.client().list_streams()
    code, msg = error(e)
    assert code == "InvalidSignatureException", msg
    assert msg.startswith("Signature expired: ") or msg.startswith("Signature not yet current: "), msg


def test_small_skew_within_five_minutes_is_fine(secured, monkeypatch):
    # Kinesis allows 5 minutes ("Signature expired: ... (... - 5 min.)"), not the 15 of DynamoDB or S3.
    skewed = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=4)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: skewed)
    assert "StreamNames" in secured.client().list_streams()


def test_missing_authorization(secured):
    status, _, body = send(secured, b"{}", sign=False)
    assert status in (400, 403)
    assert b"MissingAuthenticationTokenException" in body


def test_tampered_body_fails_verification(secured):
    """The payload hash is part of the signature: a body changed after signing must be refused."""
    req = AWSRequest(method="POST", url=secured.endpoint + "/", data=b'{"Limit": 1}',
                     headers={"Content-Type": "application/x-amz-json-1.1",
                              "X-Amz-Target": "Kinesis_20131202.ListStreams"})
    botocore.auth.SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "kinesis", "us-east-1").add_auth(req)
    u = urlparse(secured.endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("POST", "/", body=b'{"Limit": 2}', headers=dict(req.headers.items()))
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status in (400, 403)
    assert b"InvalidSignatureException" in body, body



class JsonQueryAuth(botocore.auth.SigV4QueryAuth):
    """botocore's query-string signer moves a body into the query string (the awsQuery protocol's shape); a JSON
    protocol keeps its body, and the signature covers it as a header-signed request's does."""

    def _modify_request_before_signing(self, request):
        data, request.data = request.data, b""
        super()._modify_request_before_signing(request)
        request.data = data


def presigned(secured, body, signature_of=None):
    """A query-string (presigned) SigV4 request as botocore's SigV4QueryAuth builds one; `signature_of` replaces the
    signature to tamper with it."""
    req = AWSRequest(method="POST", url=secured.endpoint + "/", data=body,
                     headers={"Content-Type": "application/x-amz-json-1.1",
                              "X-Amz-Target": "Kinesis_20131202.ListStreams"})
    JsonQueryAuth(Credentials(ACCESS_KEY, SECRET_KEY), "kinesis", "us-east-1", expires=300).add_auth(req)
    u = urlparse(req.url)
    path = f"/?{u.query}"
    if signature_of is not None:
        path = re.sub(r"X-Amz-Signature=[0-9a-f]+", f"X-Amz-Signature={signature_of}", path)
    headers = {k: v for k, v in req.headers.items() if k.lower() != "authorization"}
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("POST", path, body=body, headers=headers)
    resp = conn.getresponse()
    out = resp.status, resp.read()
    conn.close()
    return out


def test_presigned_query_string_request_is_accepted(secured):
    """AWS accepts SigV4 in the query string (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, ...) as well
    as in the Authorization header."""
    status, body = presigned(secured, b"{}")
    assert status == 200, body
    assert "StreamNames" in json.loads(body)
    status, body = presigned(secured, b"{}", signature_of="0" * 64)
    assert status in (400, 403), body
    assert b"InvalidSignatureException" in body, body
