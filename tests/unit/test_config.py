"""Target resolution: flags over environment, validation messages, secrets."""
from __future__ import annotations

import pytest

from harness.config import redact_url, resolve_target
from harness.errors import ConfigError

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
    assert set(target.secrets()) == {"env-key", "c=1", "pw"}
    assert "env-key" not in repr(target) and "pw" not in target.describe()


def test_kernel_env_carries_the_target():
    env = resolve_target(env=ENV).kernel_env()
    assert env["BASE_URL"] == "http://env.test" and env["WORKFLOW_HARNESS_API_KEY"] == "env-key"


def test_redact_url():
    assert redact_url("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"
