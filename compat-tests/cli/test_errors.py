"""Exit codes: 1 an error the server answered (its name printed), 2 usage, 3 cannot connect."""


def test_unknown_topic_is_exit_1_with_the_kafka_error_name(cli):
    for args in (["topic", "describe", "no-such-topic"], ["consume", "no-such-topic", "--end"],
                 ["produce", "no-such-topic", "--value", "x"]):
        r = cli.run(*args)
        assert r.returncode == 1, (args, r.stderr)
        assert "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr, (args, r.stderr)


def test_unknown_stream_is_exit_1_with_the_aws_error_name(cli):
    r = cli.run("stream", "describe", "no-such-stream")
    assert r.returncode == 1
    assert "ResourceNotFoundException" in r.stderr


def test_unreachable_broker_and_endpoint_are_exit_3(cli, dead_port):
    r = cli.run("topic", "list", "--brokers", f"127.0.0.1:{dead_port}")
    assert r.returncode == 3, r.stderr
    assert "cannot connect" in r.stderr
    r = cli.run("stream", "list", env={"AWS_ENDPOINT_URL": f"http://127.0.0.1:{dead_port}"})
    assert r.returncode == 3, r.stderr


def test_usage_errors_are_exit_2(cli):
    assert cli.run("topic", "create").returncode == 2
    assert cli.run("consume", "t", "--timestamp", "yesterday").returncode == 2
    r = cli.run("produce", "s", "--kinesis", "--value", "x")
    assert r.returncode == 2 and "--partition-key" in r.stderr
