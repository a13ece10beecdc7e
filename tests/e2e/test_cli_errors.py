"""Bad input: one clear line on stderr, exit code 2, no traceback, no hang."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .test_run_fixtures import REPO, harness

GOLDEN = REPO / "fixtures" / "ticket-created-hello"


def _fixture(tmp_path: Path, *, bundle: str | None = "golden", notebook: str | None = "golden") -> Path:
    folder = tmp_path / "fx"
    folder.mkdir()
    if bundle == "golden":
        data = json.loads((GOLDEN / "bundle.json").read_text())
        data["workflows"][0]["key"] = "fixture.fx"
        (folder / "bundle.json").write_text(json.dumps(data))
    elif bundle is not None:
        (folder / "bundle.json").write_text(bundle)
    if notebook == "golden":
        shutil.copy(GOLDEN / "test.ipynb", folder)
    elif notebook is not None:
        (folder / "test.ipynb").write_text(notebook)
    return folder


def _assert_usage_error(result, needle: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and needle in lines[0], lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


NO_PARAMS = json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [],
                                   "execution_count": None}],
                        "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.mark.parametrize("kind, needle", [
    ("missing-folder", "no such fixture folder"),
    ("no-bundle", "bundle.json not found"),
    ("no-notebook", "test.ipynb not found"),
    ("bad-json", "malformed JSON at line 1"),
    ("wrong-format", "format must be 'alga-psa.workflow-bundle'"),
    ("no-parameters", "no cell tagged 'parameters'"),
    ("bad-notebook", "not a readable notebook"),
])
def test_bad_fixture_folders(kind, needle, tmp_path, sandbox_env):
    folder = {
        "missing-folder": lambda: tmp_path / "nope",
        "no-bundle": lambda: _fixture(tmp_path, bundle=None),
        "no-notebook": lambda: _fixture(tmp_path, notebook=None),
        "bad-json": lambda: _fixture(tmp_path, bundle="{not json"),
        "wrong-format": lambda: _fixture(tmp_path, bundle=json.dumps({"format": "x", "formatVersion": 1,
                                                                      "workflows": [{"key": "k"}]})),
        "no-parameters": lambda: _fixture(tmp_path, notebook=NO_PARAMS),
        "bad-notebook": lambda: _fixture(tmp_path, notebook="[1, 2"),
    }[kind]()
    _assert_usage_error(harness(["run", "--test", str(folder)], sandbox_env), needle)


def test_unreachable_server(sandbox_env):
    env = {**sandbox_env, "BASE_URL": "http://127.0.0.1:9"}
    _assert_usage_error(harness(["run", "--test", str(GOLDEN)], env, timeout=60), "cannot reach http://127.0.0.1:9")


def test_unreachable_database(sandbox_env):
    env = {**sandbox_env, "DATABASE_URL": "postgresql://nobody:pw@127.0.0.1:9/none"}
    result = harness(["run", "--test", str(GOLDEN)], env, timeout=60)
    _assert_usage_error(result, "cannot connect to database postgresql://nobody:***@127.0.0.1:9/none")
    assert ":pw@" not in result.stderr


def test_missing_api_key(sandbox_env):
    env = {k: v for k, v in sandbox_env.items() if k != "WORKFLOW_HARNESS_API_KEY"}
    _assert_usage_error(harness(["run", "--test", str(GOLDEN)], env), "no credentials")


def test_wrong_api_key_is_a_configuration_error_before_any_fixture_runs(sandbox_env, tmp_path):
    env = {**sandbox_env, "WORKFLOW_HARNESS_API_KEY": "not-a-key"}
    result = harness(["run", "--test", str(GOLDEN), "--artifacts-dir", str(tmp_path)], env)
    _assert_usage_error(result, "the API key (WORKFLOW_HARNESS_API_KEY or ALGA_API_KEY) is not a key of any tenant")
    assert not any(tmp_path.iterdir()), "no fixture ran, so no artifacts"


@pytest.mark.parametrize("args, needle", [
    (["run"], "Missing option '--test'"),
    (["run", "--test", "x", "--timeout-ms", "soon"], "'soon' is not a valid integer"),
    (["frobnicate"], "No such command 'frobnicate'"),
])
def test_usage_errors(args, needle, sandbox_env):
    _assert_usage_error(harness(args, sandbox_env), needle)
