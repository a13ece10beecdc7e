"""Target resolution: flags over environment, validation messages, secrets."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.config import Target, kernel_environment, resolve_target, with_overrides
from harness.errors import ConfigError
from harness.local_sandbox import use_sandbox_unless_configured
from harness.redaction import credentials_in
from harness.sandbox.state_file import env_for

TENANT = "11111111-1111-4111-8111-111111111111"
ENV = {"BASE_URL": "http://env.test", "TENANT_ID": TENANT, "DATABASE_URL": "postgresql://u:pw@db/x",
       "WORKFLOW_HARNESS_API_KEY": "env-key", "ALGA_API_KEY": "alga-key"}


def test_flags_win_over_environment():
    target = resolve_target(base_url="http://flag.test/", env=ENV, timeout_ms=5)
    assert target.base_url == "http://flag.test"
    assert target.timeout_ms == 5
    assert target.api_key == "env-key"


def test_alga_api_key_is_the_fallback():
    env = {k: v for k, v in ENV.items() if k != "WORKFLOW_HARNESS_API_KEY"}
    assert resolve_target(env=env).api_key == "alga-key"


def test_cookie_file_is_read_and_trimmed(tmp_path):
    path = tmp_path / "cookie"
    path.write_text("authjs.session-token=abc\n")
    env = {k: v for k, v in ENV.items() if "KEY" not in k}
    assert resolve_target(env=env, cookie_file=str(path)).cookie == "authjs.session-token=abc"


def test_missing_cookie_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read cookie file"):
        resolve_target(env=ENV, cookie_file=str(tmp_path / "nope"))


@pytest.mark.parametrize("change, message", [
    ({"TENANT_ID": ""}, "no tenant"),
    ({"TENANT_ID": "acme"}, "tenant must be a UUID"),
    ({"BASE_URL": "ftp://x"}, "base URL must start with http"),
    ({"DATABASE_URL": ""}, "no database"),
    ({"WORKFLOW_HARNESS_API_KEY": "", "ALGA_API_KEY": ""}, "no credentials"),
    ({"TIMEOUT_MS": "soon"}, "timeout must be a whole number"),
])
def test_bad_configuration_is_explained(change, message):
    with pytest.raises(ConfigError, match=message):
        resolve_target(env={**ENV, **change})


def test_secrets_include_key_cookie_and_db_password():
    target = resolve_target(env=ENV, cookie="c=1")
    assert set(target.secrets()) == {"env-key", "c=1", "pw", "alga-key"}, "the unused ALGA_API_KEY too"
    assert "env-key" not in repr(target) and "pw" not in target.describe()


@pytest.mark.parametrize("field, value, secrets", [
    ("database_url", "postgresql://u:url-pw@db/x", {"url-pw"}),
    ("database_url", "postgresql://u@db/x?password=query-pw", {"query-pw"}),
    ("database_url", "host=db user=u password=plain-pw dbname=x", {"plain-pw"}),
    ("database_url", "host=db user=u password='quoted pw' dbname=x", {"quoted pw", "'quoted pw'"}),
    ("database_write_url", "postgresql://w:write-pw@db/x", {"write-pw"}),
    ("base_url", "https://u:web-pw@alga.example.com", {"web-pw"}),
    ("base_url", "https://web-token@alga.example.com", {"web-token"}),
])
def test_secrets_come_from_every_dsn_form(field, value, secrets):
    env = {"BASE_URL": "http://env.test", "TENANT_ID": TENANT, "DATABASE_URL": "postgresql://u@db/x",
           "WORKFLOW_HARNESS_API_KEY": "k-1234"}
    target = resolve_target(env=env, **{field: value})
    assert set(target.secrets()) == secrets | {"k-1234"}
    for secret in secrets:
        assert secret not in target.describe() and secret not in repr(target)


def test_environment_credentials_are_secrets_and_survive_lane_copies(tmp_path: Path):
    cookie_file = tmp_path / "lane3.cookie"
    cookie_file.write_text("authjs.session-token=lane3-session-token\n")
    env = {**ENV, "PGPASSWORD": "pg-env-pw", "HARNESS_LANE2_TENANT_ID": TENANT, "HARNESS_LANE2_API_KEY": "lane2-key",
           "HARNESS_LANE3_COOKIE_FILE": str(cookie_file), "HARNESS_LANE4_COOKIE_FILE": str(tmp_path / "missing")}
    target = resolve_target(env=env)
    lane = with_overrides(target, api_key="lane-own-key")
    assert {"pg-env-pw", "lane2-key", "lane3-session-token", "env-key", "alga-key"} <= set(lane.secrets())
    assert "lane-own-key" in lane.secrets()


def test_write_url_resolution():
    assert resolve_target(env=ENV).database_write_url is None, "writes fall back to the read URL"
    env = {**ENV, "DATABASE_WRITE_URL": "postgresql://w:wpw@db/x"}
    assert resolve_target(env=env).database_write_url == "postgresql://w:wpw@db/x"
    flagged = resolve_target(env=env, database_write_url="postgresql://f@db/x")
    assert flagged.database_write_url == "postgresql://f@db/x"
    assert flagged.kernel_env()["DATABASE_WRITE_URL"] == "postgresql://f@db/x"
    assert "DATABASE_WRITE_URL" not in resolve_target(env=ENV).kernel_env()
    assert "writes via postgresql://w:***@db/x" in resolve_target(env=env).describe()


def test_kernel_env_carries_the_target():
    env = resolve_target(env=ENV).kernel_env()
    assert env["BASE_URL"] == "http://env.test" and env["WORKFLOW_HARNESS_API_KEY"] == "env-key"


def test_kernel_environment_keeps_the_machine_and_drops_internals_and_credentials():
    target = resolve_target(env=ENV, cookie="authjs.session-token=abcdefgh1234")
    base = {"PATH": "/usr/bin:/bin", "HOME": "/home/me", "LANG": "C.UTF-8", "PGSSLMODE": "require",
            "HARNESS_SANDBOX_DIR": "/repo/.harness/sandbox", "HARNESS_TEST_SANDBOX_DIR": "/tmp/t",
            "PG_CONNECTION_STRING": "postgresql://other@db/x", "ALGA_API_KEY": "alga-key", "COOKIE_FILE": "/c",
            "COOKIE": "c=2", "HARNESS_LANE": "1", "HARNESS_LANE_FILE": "/l", "HARNESS_TENANTS_JSON": "[]",
            "BASE_URL": "http://stale.test", "DATABASE_WRITE_URL": "postgresql://stale@db/x",
            "MY_COPY_OF_THE_KEY": "env-key", "TOKEN_HOLDER": "Bearer abcdefgh1234",
            "SOME_DSN": "host=db password=elsewhere", "OTHER_URL": "https://u:pw2@example.com"}
    env = kernel_environment(target, {"HARNESS_CONTEXT_FILE": "/tmp/ctx.json"}, base=base)
    assert env == {"PATH": "/usr/bin:/bin", "HOME": "/home/me", "LANG": "C.UTF-8", "PGSSLMODE": "require",
                   **target.kernel_env(), "HARNESS_CONTEXT_FILE": "/tmp/ctx.json"}
    assert "DATABASE_WRITE_URL" not in env, "a stale write URL is not inherited"


def test_kernel_environment_defaults_to_this_process(monkeypatch):
    monkeypatch.setenv("HARNESS_SANDBOX_DIR", "/somewhere")
    env = kernel_environment(resolve_target(env=ENV), {})
    assert env["PATH"] == os.environ["PATH"] and "HARNESS_SANDBOX_DIR" not in env


def test_target_repr_hides_every_secret():
    target = Target(base_url="https://u:webpw@alga.example", tenant_id=TENANT,
                    database_url="postgresql://u:dbpw@db/x", database_write_url="host=db password=wpw",
                    api_key="key-1234", cookie="c=cookie-value", extra_secrets=("other-secret",))
    shown = repr(target) + target.describe()
    for secret in target.secrets():
        assert secret not in shown
    assert "alga.example" in shown and "db/x" in shown


def test_the_sandbox_variables_carry_every_secret_to_scrub(sandbox_dir: Path, sandbox_state: dict):
    state = json.loads((sandbox_dir / "state.json").read_text())
    env = {**env_for(state, state["tenants"][1]["tenant_id"]), "BASE_URL": state["base_url"] + "/",
           "PGPASSWORD": "pg-env-password"}
    target = resolve_target(env=env)
    secrets = set(target.secrets())
    for each in state["tenants"]:
        assert each["api_key"] in secrets and each["session_cookie"] in secrets
        assert each["session_cookie"].partition("=")[2] in secrets
    assert "pg-env-password" in secrets
    for name, value in state.items():  # the reader's, the writer's and the owner's database passwords
        if name.endswith("url"):
            assert set(credentials_in(value)) <= secrets, name
    assert target.is_sandbox and target.database_write_url == state.get("database_write_url")
    assert target.tenant_id == state["tenants"][1]["tenant_id"]
    own = {name: env[name] for name in ("BASE_URL", "TENANT_ID", "DATABASE_URL", "WORKFLOW_HARNESS_API_KEY")}
    assert state["tenants"][0]["api_key"] not in resolve_target(env=own).secrets(), "only what is configured"
    assert resolve_target(env=own).database_write_url is None


def test_without_a_target_only_the_cli_and_plugin_turn_to_the_sandbox(sandbox_dir: Path, sandbox_state: dict,
                                                                       monkeypatch):
    with pytest.raises(ConfigError, match="no target configured"):
        resolve_target(env={"HARNESS_SANDBOX_DIR": str(sandbox_dir)})
    environ = {k: v for k, v in os.environ.items() if k not in ("BASE_URL", "TENANT_ID")}
    monkeypatch.setattr(os, "environ", {**environ, "HARNESS_SANDBOX_DIR": str(sandbox_dir)})
    assert not use_sandbox_unless_configured(base_url="http://127.0.0.1:1"), "a configured target wins"
    assert use_sandbox_unless_configured()
    target = resolve_target()
    assert target.is_sandbox and target.base_url == sandbox_state["base_url"]
    assert target.database_url == sandbox_state["database_url"]
    assert target.database_write_url == sandbox_state.get("database_write_url")
    assert os.environ["HARNESS_LANE2_TENANT_ID"] == sandbox_state["tenants"][1]["tenant_id"], "its other tenant is a lane"
    assert os.environ["HARNESS_LOCK_DIR"] == str(Path(sandbox_state["data_dir"]) / "locks")
    secrets = set(target.secrets())
    assert {t["api_key"] for t in sandbox_state["tenants"]} <= secrets
    assert {t["session_cookie"] for t in sandbox_state["tenants"]} <= secrets

