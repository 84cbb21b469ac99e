"""Starts a real `strait dev` process on free loopback ports for the suite, and stops it by PID."""
import os
import shutil
import tempfile

import pytest

import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../py-support"))
from strait_process import StraitProcess  # noqa: E402  (compat-tests/py-support)


class Strait(StraitProcess):
    """One `strait dev` process; restartable on the same data directory."""


@pytest.fixture(scope="session")
def strait():
    tmp = tempfile.mkdtemp(prefix="strait-compat-")
    s = Strait(os.path.join(tmp, "data")).start()
    yield s
    s.stop()
    # keep the server log (and data) of a failed run for the post-mortem
    if os.environ.get("STRAIT_KEEP_DATA"):
        print(f"strait data and log kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
