"""One real `strait dev`, the clients that load it, and a scrape parser."""
import os
import sys

import boto3
import pytest
from botocore.config import Config
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../py-support"))
from strait_process import running  # noqa: E402  (compat-tests/py-support)


@pytest.fixture(scope="session")
def strait():
    with running("strait-metrics-") as s:
        yield s


@pytest.fixture(scope="session")
def kinesis(strait):
    return boto3.client("kinesis", endpoint_url=strait.endpoint, region_name="us-east-1",
                        aws_access_key_id="dev", aws_secret_access_key="dev",
                        config=Config(retries={"max_attempts": 2}))


def scrape(strait):
    """The scrape as text and as {name: family} parsed by prometheus_client."""
    text = strait.metrics()
    return text, {f.name: f for f in text_string_to_metric_families(text)}


def samples(families, family, name=None, **labels):
    """Values of `name` (default: the family's own name) in `family` whose labels include `labels`."""
    f = families.get(family)
    if f is None:
        return []
    name = name or family
    return [s.value for s in f.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
