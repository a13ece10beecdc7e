"""Every template, rendered by ``harness new``, passes under ``harness run`` against the sandbox."""
from __future__ import annotations

import pytest

from harness.authoring.templates import available


@pytest.mark.parametrize("pattern", available())
def test_rendered_template_passes(pattern, cli, sandbox_env, tmp_path):
    name = f"tpl-{pattern}"
    created = cli("new", name, "--template", pattern, "--dir", str(tmp_path / "fixtures"))
    assert created.returncode == 0, created.stderr
    result = cli("run", "--test", str(tmp_path / "fixtures" / name), "--artifacts-dir", str(tmp_path / "artifacts"),
                 env=sandbox_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"PASS {name} ")
    assert not (tmp_path / "artifacts").exists(), "a passing fixture leaves no artifacts"


@pytest.mark.parametrize("pattern, event", [("event", "PROJECT_TASK_ASSIGNED"), ("http-error", "INVOICE_GENERATED"),
                                            ("negative", "APPOINTMENT_CREATED"),
                                            ("control-flow", "INBOUND_EMAIL_RECEIVED")])
def test_templates_work_for_other_events(pattern, event, cli, sandbox_env, tmp_path):
    name = f"tpl-{pattern}-{event.lower().replace('_', '-')}"
    assert cli("new", name, "--template", pattern, "--event", event, "--dir", str(tmp_path)).returncode == 0
    result = cli("run", "--test", str(tmp_path / name), "--artifacts-dir", str(tmp_path / "artifacts"),
                 env=sandbox_env)
    assert result.returncode == 0, result.stdout + result.stderr
