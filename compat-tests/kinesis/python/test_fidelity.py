"""Details of AWS's answers that a suite verified against AWS itself pins (kinesalite's, whose tests ran against
the real service; issue 21): shard-id spellings, tag characters, CORS, response headers and bodies, validation
wording, resharding checks. Raw HTTP where the bytes matter, boto3 where the answer is an SDK-visible error.
Each expectation is the status, `__type` and message kinesalite's suite asserts; where AWS's current behaviour
is not evidenced that way, docs/compatibility.md says so."""
import base64
import json

import pytest
from botocore.exceptions import ClientError

from conftest import create_active, unique, wait_active
from test_envelope import JSON, send

CBOR = "application/x-amz-cbor-1.1"
ACCOUNT = "000000000000"  # strait dev's aws.account_id
INVALID_TAG_CHARS = ("Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, "
                     "_ . / = + - % @.")
EXPOSED = "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date"


def call(strait, op, body, **kw):
    status, headers, raw = send(strait, json.dumps(body).encode(), target=f"Kinesis_20131202.{op}", **kw)
    return status, headers, json.loads(raw) if raw else raw


def error_of(strait, op, body):
    status, _, parsed = call(strait, op, body)
    assert status == 400, parsed
    return parsed["__type"], parsed.get("message", parsed.get("Message"))


@pytest.fixture(scope="module")
def stream3(kinesis):
    return create_active(kinesis, shards=3)


# --- Short-form shard ids: the number after the hyphen names the shard ---------------------------------------

@pytest.mark.parametrize("spelling", ["shardId-0", "shard-0", "x-0", "-0", "0", "a-000000000000000"])
def test_short_form_shard_ids_name_the_shard(kinesis, stream3, spelling):
    it = kinesis.get_shard_iterator(StreamName=stream3, ShardId=spelling, ShardIteratorType="LATEST")
    assert it["ShardIterator"]


@pytest.mark.parametrize("spelling", ["ABKLFD8", "2.14E4", "2147483648", "shardId-002147483648"])
def test_ids_naming_no_shard_are_refused_before_the_stream_is_looked_up(strait, spelling):
    name = unique()
    for op, member, extra in [("GetShardIterator", "ShardId", {"ShardIteratorType": "LATEST"}),
                              ("SplitShard", "ShardToSplit", {"NewStartingHashKey": "0"}),
                              ("MergeShards", "AdjacentShardToMerge", {"ShardToMerge": "x-0"})]:
        body = {"StreamName": name, member: spelling, **extra}
        assert error_of(strait, op, body) == (
            "ResourceNotFoundException",
            f"Could not find shard {spelling} in stream {name} under account {ACCOUNT}."), op


def test_unknown_shard_or_stream_is_named_by_its_canonical_id(strait, stream3):
    assert error_of(strait, "GetShardIterator", {"StreamName": stream3, "ShardId": "shardId-5",
                                                 "ShardIteratorType": "LATEST"}) == (
        "ResourceNotFoundException",
        f"Shard shardId-000000000005 in stream {stream3} under account {ACCOUNT} does not exist")
    name = unique()
    assert error_of(strait, "GetShardIterator", {"StreamName": name, "ShardId": "a-00002147483647",
                                                 "ShardIteratorType": "LATEST"}) == (
        "ResourceNotFoundException",
        f"Shard shardId-002147483647 in stream {name} under account {ACCOUNT} does not exist")
    assert error_of(strait, "SplitShard", {"StreamName": stream3, "ShardToSplit": "shardId-5",
                                           "NewStartingHashKey": "0"}) == (
        "ResourceNotFoundException",
        f"Could not find shard shardId-000000000005 in stream {stream3} under account {ACCOUNT}.")


def test_list_shards_and_describe_stream_take_short_form_start_ids(kinesis, stream3):
    listed = kinesis.list_shards(StreamName=stream3, ExclusiveStartShardId="shard-0")["Shards"]
    assert [s["ShardId"] for s in listed] == ["shardId-000000000001", "shardId-000000000002"]
    described = kinesis.describe_stream(StreamName=stream3, ExclusiveStartShardId="x-1")
    assert [s["ShardId"] for s in described["StreamDescription"]["Shards"]] == ["shardId-000000000002"]


# --- Resharding checks ----------------------------------------------------------------------------------------

def test_split_key_out_of_range_uses_aws_message(strait, stream3):
    top = "340282366920938463463374607431768211455"
    start = "226854911280625642308916404954512140970"
    for key in ["999999999999999999999999999999999999999", top]:
        assert error_of(strait, "SplitShard", {"StreamName": stream3, "ShardToSplit": "shard-2",
                                               "NewStartingHashKey": key}) == (
            "InvalidArgumentException",
            f"NewStartingHashKey {key} used in SplitShard() on shard shardId-000000000002 in stream {stream3} "
            f"under account {ACCOUNT} is not both greater than one plus the shard's StartingHashKey {start} and "
            f"less than the shard's EndingHashKey {top}.")


def test_merge_refuses_an_inverted_pair(strait, stream3):
    assert error_of(strait, "MergeShards", {"StreamName": stream3, "ShardToMerge": "x-1",
                                            "AdjacentShardToMerge": "y-0"}) == (
        "InvalidArgumentException",
        f"Shards shardId-000000000001 and shardId-000000000000 in stream {stream3} under account {ACCOUNT} are "
        f"not an adjacent pair of shards eligible for merging")


# --- Tag characters -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tags", [{"abc;def": "1"}, {"abc\tdef": "1"}, {"abc\ndef": "1"}, {"abc,def": "1"},
                                  {"a": "abc;def"}, {"a": "x\U0001F600"}])
def test_tags_outside_aws_character_set_are_refused(raw, stream3, tags):
    with pytest.raises(ClientError) as e:
        raw.add_tags_to_stream(StreamName=stream3, Tags=tags)
    assert (e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]) == (
        "InvalidArgumentException", INVALID_TAG_CHARS)


def test_percent_in_tags_gets_its_own_message(raw, stream3):
    with pytest.raises(ClientError) as e:
        raw.add_tags_to_stream(StreamName=stream3, Tags={"abc%def": "1"})
    assert e.value.response["Error"]["Message"] == (
        f"Failed to add tags to stream {stream3} under account {ACCOUNT} because some tags contained illegal "
        "characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'.")
    with pytest.raises(ClientError) as e:
        raw.remove_tags_from_stream(StreamName=stream3, TagKeys=["abc%def"])
    assert e.value.response["Error"]["Message"].startswith(f"Failed to remove tags from stream {stream3} ")
    with pytest.raises(ClientError) as e:
        raw.remove_tags_from_stream(StreamName=stream3, TagKeys=["abc;def"])
    assert e.value.response["Error"]["Message"] == INVALID_TAG_CHARS


def test_tags_in_aws_character_set_are_accepted(kinesis, stream3):
    tags = {"a b_c.d/e=f+g-h@i": "\u00e9t\u00e9 \u4e2d\u6587", "k": ""}
    kinesis.add_tags_to_stream(StreamName=stream3, Tags=tags)
    got = {t["Key"]: t["Value"] for t in kinesis.list_tags_for_stream(StreamName=stream3)["Tags"]}
    assert {k: got[k] for k in tags} == tags


# --- Validation wording ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("op,body,message", [
    ("CreateStream", {"StreamName": ["a"]}, "Start of list found where not expected"),
    ("CreateStream", {"StreamName": {"a": 1}}, "Start of structure or map found where not expected."),
    ("CreateStream", {"StreamName": "s", "StreamModeDetails": "ON_DEMAND"}, "Expected null"),
    ("CreateStream", {"StreamName": "s", "StreamModeDetails": []}, "Start of list found where not expected"),
    ("AddTagsToStream", {"StreamName": "s", "Tags": "a"}, "Expected map or null"),
    ("AddTagsToStream", {"StreamName": "s", "Tags": ["a"]}, "Start of list found where not expected"),
    ("RemoveTagsFromStream", {"StreamName": "s", "TagKeys": "a"}, "Expected list or null"),
    ("RemoveTagsFromStream", {"StreamName": "s", "TagKeys": {"a": "b"}},
     "Start of structure or map found where not expected."),
    ("PutRecord", {"StreamName": "s", "PartitionKey": "k", "Data": "abc"},
     "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3"),
    ("PutRecord", {"StreamName": "s", "PartitionKey": "k", "Data": "ab;c"},
     "'ab;c' can not be converted to a Blob: Invalid Base64 character: ';'"),
    ("PutRecord", {"StreamName": "s", "PartitionKey": "k", "Data": "a=bc"},
     "'a=bc' can not be converted to a Blob: Invalid Base64 character: '='"),
    ("PutRecord", {"StreamName": "s", "PartitionKey": "k", "Data": "YR=="},
     "'YR==' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"),
])
def test_type_mismatches_use_aws_wording(strait, op, body, message):
    assert error_of(strait, op, body) == ("SerializationException", message)


def test_list_and_map_members_list_all_their_constraints(strait):
    assert error_of(strait, "AddTagsToStream", {"StreamName": "s", "Tags": {"": "v", "b": "x" * 257}}) == (
        "ValidationException",
        "2 validation errors detected: "
        "Value '{=v, b=" + "x" * 257 + "}' at 'tags' failed to satisfy constraint: Map keys must satisfy "
        "constraint: [Member must have length less than or equal to 128, Member must have length greater than or "
        "equal to 1]; "
        "Value '{=v, b=" + "x" * 257 + "}' at 'tags' failed to satisfy constraint: Map value must satisfy "
        "constraint: [Member must have length less than or equal to 256, Member must have length greater than or "
        "equal to 0]")
    assert error_of(strait, "RemoveTagsFromStream", {"StreamName": "s", "TagKeys": ["ok", ""]}) == (
        "ValidationException",
        "1 validation error detected: Value '[ok, ]' at 'tagKeys' failed to satisfy constraint: Member must "
        "satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater "
        "than or equal to 1]")


def test_at_most_ten_failures_are_listed(strait):
    records = [{"PartitionKey": ""} for _ in range(12)]
    _, message = error_of(strait, "PutRecords", {"StreamName": "s", "Records": records})
    assert message.startswith("10 validation errors detected: "), message
    assert message.count("; ") == 9, message


# --- Envelope: body-less and target-less requests, response details -------------------------------------------

@pytest.mark.parametrize("content_type,target,fmt,type_", [
    (JSON, "Kinesis_20131202.ListStreams", JSON, "SerializationException"),
    (None, "Kinesis_20131202.ListStreams", CBOR, "SerializationException"),
    ("application/json", "Kinesis_20131202.ListStreams", CBOR, "SerializationException"),
    (JSON, None, JSON, "UnknownOperationException"),
    (None, None, CBOR, "UnknownOperationException"),
    ("application/x-amz-json-1.0", None, CBOR, "UnknownOperationException"),
    (None, "Kinesis_20131202.Whatever", CBOR, "UnknownOperationException"),
])
def test_bodyless_requests_get_the_type_alone(strait, content_type, target, fmt, type_):
    status, h, body = send(strait, b"", target=target, content_type=content_type, sign=False)
    assert status == 400, body
    assert h["content-type"] == fmt, h
    if fmt == JSON:
        assert json.loads(body) == {"__type": type_}
    else:
        # A one-entry CBOR map {"__type": type_}.
        assert body == b"\xa1\x66__type" + bytes([0x60 + len(type_)] if len(type_) < 24 else [0x78, len(type_)]) \
            + type_.encode(), body


def test_unknown_targets_and_unreadable_bodies_get_the_type_alone(strait):
    status, _, body = send(strait, b"{}", target="Kinesis_20131202.Whatever")
    assert (status, json.loads(body)) == (400, {"__type": "UnknownOperationException"})
    for bad in (b"hello", b"{", b"5", b"null"):
        status, _, body = send(strait, bad)
        assert (status, json.loads(body)) == (400, {"__type": "SerializationException"}), bad


def test_no_content_type_no_target_with_a_body_is_access_denied(strait):
    # A signer (aws4) defaults such a request to the form content type; it is still not CloudWatch's.
    for content_type in ("application/x-www-form-urlencoded; charset=utf-8", None):
        status, h, body = send(strait, b"{}", target=None, content_type=content_type, sign=False)
        assert status == 403, body
        assert "content-type" not in h, h
        assert body == (b"<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be "
                        b"authorized</Message>\n</AccessDeniedException>\n")


def test_void_operations_answer_an_empty_body(strait):
    name = unique()
    status, h, body = call(strait, "CreateStream", {"StreamName": name, "ShardCount": 1})
    assert (status, body, h["content-type"], h["content-length"]) == (200, b"", JSON, "0")
    status, h, body = call(strait, "ListStreams", {})
    assert status == 200 and "StreamNames" in body


def test_put_record_reports_encryption_only_when_encrypted(kinesis):
    name = create_active(kinesis)
    put = kinesis.put_record(StreamName=name, PartitionKey="k", Data=b"x")
    assert "EncryptionType" not in put, put
    puts = kinesis.put_records(StreamName=name, Records=[{"PartitionKey": "k", "Data": b"x"}])
    assert "EncryptionType" not in puts, puts
    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    wait_active(kinesis, name)
    assert kinesis.put_record(StreamName=name, PartitionKey="k", Data=b"x")["EncryptionType"] == "KMS"
    puts = kinesis.put_records(StreamName=name, Records=[{"PartitionKey": "k", "Data": b"x"}])
    assert puts["EncryptionType"] == "KMS"


def test_extended_request_id_is_64_to_80_bytes(strait):
    for body, target in ((b"{}", "Kinesis_20131202.ListStreams"), (b"{}", "Kinesis_20131202.Whatever")):
        _, h, _ = send(strait, body, target=target)
        assert 64 <= len(base64.b64decode(h["x-amz-id-2"])) <= 80, h


# --- CORS -----------------------------------------------------------------------------------------------------

def test_preflight_is_answered_with_what_it_asks_for(strait):
    status, h, body = send(strait, None, target=None, content_type=None, sign=False, method="OPTIONS",
                           headers={"Origin": "http://app.example",
                                    "Access-Control-Request-Headers": "a, b, c",
                                    "Access-Control-Request-Method": "d"})
    assert (status, body) == (200, b"")
    assert h["access-control-allow-origin"] == "*"
    assert h["access-control-allow-headers"] == "a, b, c"
    assert h["access-control-allow-methods"] == "d"
    assert h["access-control-max-age"] == "172800"
    assert h["content-length"] == "0"
    assert "content-type" not in h and "x-amz-id-2" not in h
    assert h["x-amzn-requestid"]


def test_requests_with_an_origin_get_cors_headers(strait):
    for target in ("Kinesis_20131202.ListStreams", "Kinesis_20131202.Whatever"):
        _, h, _ = send(strait, b"{}", target=target, headers={"Origin": "http://app.example"})
        assert h["access-control-allow-origin"] == "*", h
        assert h["access-control-expose-headers"] == EXPOSED, h
    # OPTIONS without Origin is not a preflight: AWS refuses it like any non-POST.
    status, h, _ = send(strait, None, target=None, content_type=None, sign=False, method="OPTIONS")
    assert status == 403
    assert "access-control-allow-origin" not in h
