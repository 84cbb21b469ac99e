"""Real `strait` processes with TLS on: `strait dev --tls` (which generates the certificates the suite then uses),
and `strait serve` nodes configured from those certificates (mutual TLS required, SASL_SSL)."""
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../py-support"))
from strait_process import StraitProcess  # noqa: E402  (compat-tests/py-support)


class TlsStrait(StraitProcess):
    """`strait dev --tls`, or `strait serve --config <file>` when `config` (TOML text without the listener
    addresses, which are added here) is given. The admin endpoint is HTTPS, checked against `ca`."""

    def __init__(self, data_dir, ca, config=None, env=None):
        super().__init__(data_dir, env=env)
        self.ca = ca
        self.config = config

    @property
    def endpoint(self):
        return f"https://127.0.0.1:{self.aws_port}"

    def _context(self):
        return ssl.create_default_context(cafile=self.ca)

    def metrics(self):
        url = f"https://127.0.0.1:{self.admin_port}/metrics"
        with urllib.request.urlopen(url, timeout=5, context=self._context()) as r:
            return r.read().decode()

    def start(self):
        binary = os.environ.get("STRAIT_BIN")
        assert binary and os.path.exists(binary), "STRAIT_BIN must point at a built strait binary (run.sh sets it)"
        if self.config is None:
            cmd = [binary, "dev", "--tls", "--data-dir", self.data_dir, "--kafka-addr", self.bootstrap,
                   "--aws-addr", f"127.0.0.1:{self.aws_port}", "--admin-addr", f"127.0.0.1:{self.admin_port}"]
        else:
            path = self.data_dir.rstrip("/") + ".toml"
            with open(path, "w") as f:
                f.write(f'[node]\ndata_dir = "{self.data_dir}"\n\n'
                        f'[kafka]\nlisten = "{self.bootstrap}"\n\n'
                        # These nodes test Kafka TLS; AWS request signing has its own suite (iam).
                        f'[aws]\nlisten = "127.0.0.1:{self.aws_port}"\nauth = "none"\n\n'
                        f'[admin]\nlisten = "127.0.0.1:{self.admin_port}"\n\n{self.config}')
            cmd = [binary, "serve", "--config", path]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"strait exited early:\n{self.log()}")
            if os.path.exists(self.ca):
                try:
                    url = f"https://127.0.0.1:{self.admin_port}/healthz"
                    with urllib.request.urlopen(url, timeout=1, context=self._context()) as r:
                        if r.status == 200:
                            return self
                except (OSError, ssl.SSLError):
                    pass
            time.sleep(0.1)
        raise AssertionError(f"strait did not become healthy in 30 s:\n{self.log()}")


@pytest.fixture(scope="session")
def tmp_root():
    tmp = tempfile.mkdtemp(prefix="strait-tls-")
    yield tmp
    if os.environ.get("STRAIT_KEEP_DATA"):
        print(f"strait data and logs kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def dev(tmp_root):
    """`strait dev --tls`; its certificates are re-read every 200 ms, for the reload test."""
    data = os.path.join(tmp_root, "dev")
    s = TlsStrait(data, ca=os.path.join(data, "tls", "ca.pem"),
                  env={"STRAIT_KAFKA__TLS__RELOAD_INTERVAL_MS": "200"}).start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def pki(dev, tmp_root):
    """A copy of the dev node's certificates (the reload test rewrites the originals)."""
    dst = os.path.join(tmp_root, "pki")
    shutil.copytree(os.path.join(dev.data_dir, "tls"), dst)
    return {name: os.path.join(dst, f"{name}.pem")
            for name in ("ca", "ca-key", "server", "server-key", "client", "client-key")}


def tls_section(listener, pki, client_auth="none"):
    return (f'[{listener}.tls]\nenabled = true\ncert_file = "{pki["server"]}"\nkey_file = "{pki["server-key"]}"\n'
            f'client_auth = "{client_auth}"\nclient_ca_file = "{pki["ca"]}"\n\n')


@pytest.fixture(scope="session")
def mtls(pki, tmp_root):
    """`strait serve` whose Kafka listener requires a client certificate."""
    config = tls_section("kafka", pki, "required") + tls_section("aws", pki) + tls_section("admin", pki)
    s = TlsStrait(os.path.join(tmp_root, "mtls"), ca=pki["ca"], config=config).start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def sasl_ssl(pki, tmp_root):
    """`strait serve` with SASL/PLAIN users over TLS: Kafka's SASL_SSL."""
    config = (tls_section("kafka", pki) + tls_section("aws", pki) + tls_section("admin", pki)
              + '[kafka.sasl_plain_users]\nalice = "alice-secret"\n\n'
              + '[security]\nallow_unauthenticated_aws = true\n')
    s = TlsStrait(os.path.join(tmp_root, "sasl"), ca=pki["ca"], config=config).start()
    yield s
    s.stop()
