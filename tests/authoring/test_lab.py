"""``harness lab``: the command it launches, its refusals, and one real JupyterLab start and stop."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness.authoring.lab import SAVE_HOOK, copy_notebooks, lab_launch
from harness.config import Target

from .conftest import REPO, TARGET_VARS, clean_env

TARGET = Target(base_url="http://127.0.0.1:9", tenant_id="00000000-0000-4000-8000-000000000001",
                database_url="postgresql://u:pw@127.0.0.1:1/db", api_key="k-secret", timeout_ms=30000,
                is_sandbox=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_launch_runs_jupyter_lab_at_the_root_with_the_target_in_the_environment(tmp_path):
    launch = lab_launch(TARGET, port=8899, open_browser=False, extra_args=["--allow-root"], root=tmp_path,
                        base_env={"PATH": "/bin", "BASE_URL": "stale"})
    assert launch.argv == [sys.executable, "-m", "jupyterlab", f"--ContentsManager.pre_save_hook={SAVE_HOOK}",
                           f"--ServerApp.root_dir={tmp_path}", "--port=8899", "--no-browser", "--allow-root"]
    assert launch.cwd == tmp_path
    assert launch.env == {"PATH": "/bin", "BASE_URL": "http://127.0.0.1:9", "TENANT_ID": TARGET.tenant_id,
                          "DATABASE_URL": TARGET.database_url, "WORKFLOW_HARNESS_API_KEY": "k-secret",
                          "TIMEOUT_MS": "30000", "ARTIFACTS_DIR": "artifacts", "HARNESS_SANDBOX": "1"}
    assert "k-secret" not in " ".join(launch.argv) and "k-secret" not in repr(launch), "secrets stay in the env"


def test_launch_defaults_leave_port_and_browser_to_jupyter_and_root_at_the_project(monkeypatch):
    monkeypatch.chdir(REPO / "fixtures")
    launch = lab_launch(Target(base_url="https://alga.example", tenant_id=TARGET.tenant_id,
                               database_url="postgresql://x/y", cookie="c=1"), base_env={})
    assert launch.argv[-1] == f"--ServerApp.root_dir={REPO}" and launch.cwd == REPO
    assert launch.env["HARNESS_COOKIE"] == "c=1" and "HARNESS_SANDBOX" not in launch.env


def test_launch_outside_any_project_roots_at_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert lab_launch(TARGET, base_env={}).cwd == tmp_path


def test_exploration_notebooks_are_copied_when_missing_and_never_overwritten(tmp_path):
    shipped = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "explore-runs.ipynb").write_text("mine")
    copies = copy_notebooks(tmp_path)
    assert [p.name for p in copies] == [n for n in shipped if n != "explore-runs.ipynb"]
    assert (tmp_path / "notebooks" / "explore-runs.ipynb").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "notebooks").iterdir()) == shipped
    assert copy_notebooks(tmp_path) == [], "a second start copies nothing"
    assert copy_notebooks(REPO) == [], "in the repository they are already there"


@pytest.mark.parametrize("args, message", [
    (["--port", "0"], "Invalid value for '--port'"),
    (["--port", "many"], "Invalid value for '--port'"),
    (["--base-url", "alga.example"], "base URL must start with http:// or https://"),
    (["--base-url", "http://alga.example"], "no tenant: pass --tenant or set TENANT_ID"),
    (["--base-url", "http://alga.example", "--tenant", "acme"], "tenant must be a UUID"),
    (["--bogus"], "No such option '--bogus'"),
])
def test_lab_refuses_bad_arguments_before_launching(harness_main, monkeypatch, args, message):
    for name in TARGET_VARS:
        monkeypatch.delenv(name, raising=False)
    result = harness_main("lab", *args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {result.stderr.strip()[7:]}"]
    assert message in result.stderr


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the server's environment from /proc")
def test_lab_really_starts_and_stops(sandbox_env, tmp_path):
    port = free_port()
    env = clean_env({**sandbox_env, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
                     "JUPYTER_CONFIG_DIR": str(tmp_path / "config")})
    # Containers often run as root, which JupyterLab refuses unless told: pass it through after `--`.
    extra = ["--", "--allow-root"] if os.geteuid() == 0 else []
    argv = [sys.executable, "-m", "harness.cli", "lab", "--no-browser", "--port", str(port), *extra]
    out, err = open(tmp_path / "lab.out", "w"), open(tmp_path / "lab.err", "w")  # files: pipes could fill up
    process = subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        version = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api", timeout=2)
                if response.status_code == 200:
                    version = response.json().get("version")
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        assert version, f"JupyterLab did not answer on /api (exit {process.poll()})"

        servers = _children(process.pid)
        assert len(servers) == 1, servers
        server_env = _environ(servers[0])
        for name in ("BASE_URL", "TENANT_ID", "DATABASE_URL", "WORKFLOW_HARNESS_API_KEY"):
            assert server_env[name] == sandbox_env[name], f"{name} reaches the server (and so its kernels)"
        assert server_env["HARNESS_SANDBOX"] == "1"

        os.kill(process.pid, signal.SIGTERM)  # harness lab passes it on to JupyterLab
        process.wait(timeout=60)
        assert not Path(f"/proc/{servers[0]}").exists(), "JupyterLab exited (and was reaped) too"
        printed = (tmp_path / "lab.err").read_text() + (tmp_path / "lab.out").read_text()
        assert f"harness lab: kernels use sandbox {sandbox_env['BASE_URL']}" in printed
        assert sandbox_env["WORKFLOW_HARNESS_API_KEY"] not in printed
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        out.close()
        err.close()


def test_harness_lab_help_names_its_options(cli):
    result = cli("lab", "--help")
    assert result.returncode == 0
    for option in ("--port", "--no-browser", "--base-url", "--tenant", "--database-url", "--cookie-file"):
        assert option in result.stdout
