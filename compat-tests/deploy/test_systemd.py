"""deploy/systemd: systemd's own tools on the unit and the sysusers file.

`systemd-analyze verify` runs on the unit as shipped, under a temporary root (--root) holding the unit, the host's
own unit directory (for the targets it names) and the built strait binary at /usr/local/bin/strait, so its check
that ExecStart's binary exists is real and nothing is installed on this machine. verify reports unknown or
malformed directives as warnings and still exits 0, so any output at all fails here."""
import os
import shutil
import tomllib
from pathlib import Path

import pytest

from conftest import DEPLOY, SYSUSERS, UNIT, run

# `systemd-analyze security --offline` exposure, 0.0 (best) to 10.0, in tenths: fails above it. The unit scores
# 1.4 with systemd 252, and dropping any one of most of its sandboxing directives raises that to 1.5 or more.
EXPOSURE_THRESHOLD = 14
HOST_UNITS = Path("/usr/lib/systemd/system")


@pytest.fixture(scope="module")
def root(tmp_path_factory, strait_bin):
    root = tmp_path_factory.mktemp("systemd-root")
    assert HOST_UNITS.is_dir(), f"{HOST_UNITS} is missing: systemd's units are needed for the targets it names"
    shutil.copytree(HOST_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(UNIT, root / "etc/systemd/system" / UNIT.name)
    exe = root / "usr/local/bin/strait"
    exe.parent.mkdir(parents=True)
    try:
        os.link(strait_bin, exe)
    except OSError:
        shutil.copy(strait_bin, exe)
    return root


def directives(path):
    """[(section, key, value)] of a unit file, in order (keys may repeat, so not configparser)."""
    out, section = [], None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def values(unit, section, key):
    return [v for s, k, v in unit if s == section and k == key]


def test_unit_verifies(root):
    r = run(["systemd-analyze", "verify", "--man=no", f"--root={root}", UNIT.name])
    output = (r.stdout + r.stderr).strip()
    assert r.returncode == 0 and not output, f"systemd-analyze verify (exit {r.returncode}):\n{output}"


def test_unit_verify_sees_a_missing_binary(root, tmp_path):
    """The check above would pass vacuously if --root were ignored: without the binary it must fail."""
    bare = tmp_path / "root"
    shutil.copytree(root, bare, symlinks=True)
    (bare / "usr/local/bin/strait").unlink()
    r = run(["systemd-analyze", "verify", "--man=no", f"--root={bare}", UNIT.name])
    assert r.returncode != 0 and "/usr/local/bin/strait" in r.stderr, r.stderr


def test_unit_sandbox_exposure(root):
    r = run(["systemd-analyze", "security", "--offline=yes", f"--threshold={EXPOSURE_THRESHOLD}",
             f"--root={root}", "--no-pager", UNIT.name])
    overall = [line for line in r.stdout.splitlines() if "Overall exposure level" in line]
    print(*overall)
    assert r.returncode == 0, (f"exposure above {EXPOSURE_THRESHOLD / 10}:\n" +
                               "\n".join(line for line in r.stdout.splitlines() if "✗" in line) + "\n" +
                               "\n".join(overall) + r.stderr)


def test_unit_runs_strait_as_documented():
    """What the README and the configurations rely on, which systemd-analyze cannot know."""
    unit = directives(UNIT)
    assert values(unit, "Service", "ExecStart") == [
        "/usr/local/bin/strait serve --config /etc/strait/strait.toml"]
    assert values(unit, "Service", "User") == ["strait"]
    assert values(unit, "Service", "StateDirectory") == ["strait"]
    assert values(unit, "Service", "ConfigurationDirectory") == ["strait"]
    assert "/var/lib/strait" in " ".join(values(unit, "Service", "ReadWritePaths")).split()
    assert values(unit, "Service", "Restart") == ["on-failure"]
    assert values(unit, "Service", "NoNewPrivileges") == ["yes"]
    assert values(unit, "Service", "ProtectSystem") == ["strict"]
    assert values(unit, "Service", "UMask") == ["0077"], "data files must stay owner-only"
    assert int(values(unit, "Service", "LimitNOFILE")[0]) >= 65536
    stop = values(unit, "Service", "TimeoutStopSec")[0]
    assert stop.endswith("s") and int(stop[:-1]) >= 30, "graceful shutdown needs 10 s of grace plus the flush"


def test_production_config_uses_the_state_directory():
    """The README installs deploy/strait.production.toml as /etc/strait/strait.toml: its data_dir must be the
    unit's StateDirectory, the one path the sandbox lets the service write."""
    unit = directives(UNIT)
    cfg = tomllib.loads((DEPLOY / "strait.production.toml").read_text())
    assert cfg["node"]["data_dir"] == "/var/lib/" + values(unit, "Service", "StateDirectory")[0]


def test_sysusers_creates_the_units_user(tmp_path):
    (tmp_path / "etc").mkdir()
    r = run(["systemd-sysusers", f"--root={tmp_path}", SYSUSERS])
    assert r.returncode == 0, r.stderr
    passwd = {line.split(":")[0]: line.split(":") for line in (tmp_path / "etc/passwd").read_text().splitlines()}
    user = values(directives(UNIT), "Service", "User")[0]
    assert user in passwd, f"systemd-sysusers did not create {user}: {passwd}"
    assert passwd[user][5] == "/var/lib/strait" and passwd[user][6] == "/usr/sbin/nologin"
    group = values(directives(UNIT), "Service", "Group")[0]
    assert any(line.split(":")[0] == group for line in (tmp_path / "etc/group").read_text().splitlines())
