"""The suite's own check: a fresh node serves a normal producer and consumer on both protocols."""
from conftest import assert_serves


def test_fresh_node_serves(node):
    assert_serves(node)
