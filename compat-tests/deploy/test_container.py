"""deploy/Containerfile: hadolint (with the ShellCheck it embeds, on every RUN), then the file read with
dockerfile-parse for what the rest of deploy/ relies on. The image itself is not built: no container engine runs
where CI does (deploy/README.md)."""
import json
import re
import tomllib

from dockerfile_parse import DockerfileParser

from conftest import CONTAINER_CONFIG, CONTAINERFILE, PORTS, ROOT, run, venv_tool


def instructions():
    """(the base image of each stage, ARGs resolved; the instructions without comments)."""
    with open(CONTAINERFILE, "rb") as f:
        parser = DockerfileParser(fileobj=f)
        return parser.parent_images, [i for i in parser.structure if i["instruction"] != "COMMENT"]


def stages():
    """[[instructions of stage 0], [stage 1], ...], each list starting with its FROM."""
    out = []
    for i in instructions()[1]:
        if i["instruction"] == "FROM":
            out.append([])
        if out:
            out[-1].append(i)
    return out


def last(stage, name):
    found = [i["value"] for i in stage if i["instruction"] == name]
    assert found, f"no {name} in the stage starting with {stage[0]['value']!r}"
    return found[-1]


def exec_form(value):
    """An exec-form (JSON array) ENTRYPOINT/CMD/VOLUME; shell form is refused (signals would go to a shell)."""
    parsed = json.loads(value)
    assert isinstance(parsed, list) and all(isinstance(a, str) for a in parsed), value
    return parsed


def healthcheck_command():
    """The HEALTHCHECK's exec-form command."""
    value = last(stages()[-1], "HEALTHCHECK")
    _, _, cmd = value.partition("CMD")
    return exec_form(cmd.strip())


def test_hadolint():
    r = run([venv_tool("hadolint"), "--no-color", "--failure-threshold", "style", CONTAINERFILE])
    assert r.returncode == 0, f"hadolint:\n{r.stdout}{r.stderr}"


def test_build_stage_uses_the_pinned_toolchain_and_the_dist_profile():
    images, _ = instructions()
    build, runtime = stages()
    channel = tomllib.loads((ROOT / "rust-toolchain.toml").read_text())["toolchain"]["channel"]
    assert images[0].startswith(f"rust:{channel}-"), \
        f"the build stage is {images[0]}, rust-toolchain.toml pins {channel}"
    assert build[0]["value"].endswith(" AS build")
    builds = [i["value"] for i in build if i["instruction"] == "RUN" and "cargo build" in i["value"]]
    assert len(builds) == 1 and "cargo build --locked --profile dist -p strait" in builds[0], builds
    assert "dist" in tomllib.loads((ROOT / "Cargo.toml").read_text())["profile"], "Cargo.toml has no [profile.dist]"
    # Build and runtime on the same Debian release: the binary links against the glibc it runs with.
    release = images[0].rsplit("-", 1)[1]
    assert images[1] == f"debian:{release}-slim", images


def test_runtime_stage_runs_strait_as_a_fixed_non_root_user():
    runtime = stages()[-1]
    user = last(runtime, "USER")
    assert re.fullmatch(r"[1-9][0-9]*:[1-9][0-9]*", user), f"USER {user}: want a numeric non-root uid:gid"
    copies = [i["value"].split() for i in runtime if i["instruction"] == "COPY"]
    assert ["--from=build", "/out/strait", "/usr/local/bin/strait"] in copies
    assert ["deploy/container/strait.toml", "/etc/strait/strait.toml"] in copies
    assert exec_form(last(runtime, "ENTRYPOINT")) == ["/usr/local/bin/strait"]
    assert exec_form(last(runtime, "CMD")) == ["serve", "--config", "/etc/strait/strait.toml"]


def test_every_copied_path_is_in_the_build_context():
    for stage in stages():
        for i in stage:
            if i["instruction"] != "COPY" or i["value"].startswith("--from"):
                continue
            *sources, _ = i["value"].split()
            for src in sources:
                assert (ROOT / src).exists(), f"COPY {src}: not in the repository (the build context)"


def test_ports_volume_and_healthcheck_match_the_image_configuration():
    runtime = stages()[-1]
    cfg = tomllib.loads(CONTAINER_CONFIG.read_text())
    exposed = {int(p.split("/")[0]) for p in last(runtime, "EXPOSE").split()}
    listening = {int(cfg[s]["listen"].rsplit(":", 1)[1]) for s in ("kafka", "aws", "admin")}
    assert exposed == listening | {PORTS["cluster"]}, f"EXPOSE {exposed}, the configuration listens on {listening}"
    for s in ("kafka", "aws", "admin"):
        assert cfg[s]["listen"].startswith("0.0.0.0:"), f"{s}.listen must accept connections from outside"
    assert exec_form(last(runtime, "VOLUME")) == [cfg["node"]["data_dir"]]
    command = " ".join(healthcheck_command())
    admin_port = cfg["admin"]["listen"].rsplit(":", 1)[1]
    assert f"/dev/tcp/127.0.0.1/{admin_port}" in command and "GET /healthz " in command, command


def test_dockerignore_keeps_build_output_out_but_the_sources_in():
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert "target/" in ignored or "/target" in ignored or "target" in ignored, ignored
    for needed in ("deploy", "Cargo.toml", "Cargo.lock", "rust-toolchain.toml"):
        assert not any(p.rstrip("/").lstrip("/") == needed for p in ignored), f"{needed} must stay in the context"
