"""Secret scrubbing: every DSN and URL credential form, known values, and the CLI's error line."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from harness.redaction import (REDACTED, cookie_secrets, credentials_in, redact_text, redact_url,
                               secrets_in_data)

TENANT = "11111111-1111-4111-8111-111111111111"


@pytest.mark.parametrize("given, expected", [
    ("postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"),
    ("postgres://u:p%40ss@h/db", "postgres://u:***@h/db"),
    ("postgresql://u:pa@ss@h/db", "postgresql://u:***@h/db"),
    ("postgresql://u@h/db", "postgresql://u@h/db"),
    ("postgresql://postgres:@/postgres?host=/tmp/pg", "postgresql://postgres:@/postgres?host=/tmp/pg"),
    ("postgresql://u@h/db?password=secret", "postgresql://u@h/db?password=***"),
    ("postgresql://u@h/db?sslmode=require&password=secret&connect_timeout=5",
     "postgresql://u@h/db?sslmode=require&password=***&connect_timeout=5"),
    ("host=h user=u password=secret dbname=db", "host=h user=u password=*** dbname=db"),
    ("host=h password = secret dbname=db", "host=h password = *** dbname=db"),
    ("host=h password='p w \\' x' dbname=db", "host=h password=*** dbname=db"),
    ("host=h password=a\\ b dbname=db", "host=h password=*** dbname=db"),
    ("https://u:secret@alga.example.com/api", "https://u:***@alga.example.com/api"),
    ("https://tok3n@alga.example.com", "https://***@alga.example.com"),
    ("https://alga.example.com/x?email=a@b.example", "https://alga.example.com/x?email=a@b.example"),
    ("mailto:someone@example.com", "mailto:someone@example.com"),
])
def test_redact_url_masks_every_form(given, expected):
    assert redact_url(given) == expected


def test_redact_url_finds_credentials_in_free_text():
    text = ("connecting BASE_URL=https://u:webpw@alga.example.com and DATABASE_URL=postgresql://app:dbpw@db/alga "
            "PGPASSWORD=envpw DB_PASSWORD=otherpw; libpq said: host=db password='quoted pw' failed")
    redacted = redact_url(text)
    for secret in ("webpw", "dbpw", "envpw", "otherpw", "quoted pw"):
        assert secret not in redacted
    assert "https://u:***@alga.example.com" in redacted and "host=db" in redacted


def test_redaction_keeps_json_valid():
    data = {"dsn": "host=h password=pw1 dbname=x", "url": "postgresql://u:pw2@h/db", "password": "pw3",
            "base": "https://token@h", "quoted": "password='pw4'", "nested": {"db_password": "pw5"}}
    text = redact_text(json.dumps(data, indent=2))
    parsed = json.loads(text)
    assert parsed["dsn"] == "host=h password=*** dbname=x" and parsed["url"] == "postgresql://u:***@h/db"
    assert parsed["password"] == "***" and parsed["nested"]["db_password"] == "***"
    assert parsed["base"] == "https://***@h" and parsed["quoted"] == "password=***"


def test_redact_text_replaces_known_values_in_every_encoding():
    secret = 'k3y"with/odd\\chars'
    text = f"plain {secret} json {json.dumps(secret)} url-encoded k3y%22with%2Fodd%5Cchars short abc"
    redacted = redact_text(text, [secret, "abc", None, ""])
    assert "k3y" not in redacted and redacted.count(REDACTED) == 3
    assert redacted.endswith("short abc"), "values shorter than 4 characters are left alone"


def test_redact_text_masks_unlisted_dsn_credentials():
    assert redact_text("boom: postgresql://u:unlisted@h/db", []) == "boom: postgresql://u:***@h/db"


@pytest.mark.parametrize("text, expected", [
    ("postgresql://u:p%40ss@h/db", {"p%40ss", "p@ss"}),
    ("postgresql://u@h/db?password=q%20pw", {"q%20pw", "q pw"}),
    ("host=h password='p w \\' x'", {"'p w \\' x'", "p w ' x"}),
    ("host=h password=plain", {"plain"}),
    ("https://tok3n@h", {"tok3n"}),
    ("https://u:pw@h", {"pw"}),
    ("postgresql://u@h/db", set()),
    (None, set()),
])
def test_credentials_in(text, expected):
    assert set(credentials_in(text)) == expected


def test_cookie_secrets_include_the_session_token():
    assert cookie_secrets("authjs.session-token=abcdefgh12345; theme=dark") == [
        "authjs.session-token=abcdefgh12345; theme=dark", "abcdefgh12345"]
    assert cookie_secrets(None) == []


def test_secrets_in_data_walks_a_sandbox_state():
    state = {"pid": 1, "base_url": "http://127.0.0.1:1", "database_url": "postgresql://reader:rpw@/db?host=/s",
             "database_write_url": "postgresql://writer:wpw@/db?host=/s", "data_dir": "/tmp/x",
             "tenants": [{"slug": "a", "api_key": "sbx_aaaa", "session_cookie": "authjs.session-token=tokentoken1"},
                         {"slug": "b", "api_key": "sbx_bbbb", "session_cookie": "authjs.session-token=tokentoken2"}]}
    found = set(secrets_in_data(state))
    assert {"rpw", "wpw", "sbx_aaaa", "sbx_bbbb", "tokentoken1", "tokentoken2",
            "authjs.session-token=tokentoken1"} <= found
    assert not found & {"a", "b", "/tmp/x", "http://127.0.0.1:1"}


# -- the CLI's error line --------------------------------------------------------------------------

TARGET_VARS = ("BASE_URL", "TENANT_ID", "DATABASE_URL", "DATABASE_WRITE_URL", "PG_CONNECTION_STRING",
               "WORKFLOW_HARNESS_API_KEY", "ALGA_API_KEY", "HARNESS_COOKIE", "COOKIE", "COOKIE_FILE", "HARNESS_SANDBOX")


def harness_run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in TARGET_VARS}
    env["WORKFLOW_HARNESS_API_KEY"] = "cli-key"
    return subprocess.run([sys.executable, "-m", "harness.cli", "run", "--test", "fixtures/ticket-created-hello",
                           "--tenant", TENANT, *args], capture_output=True, text=True, env=env, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.mark.parametrize("base_url, secret, shown", [
    ("https://u:secretpw@127.0.0.1:1", "secretpw", "https://u:***@127.0.0.1:1"),
    ("https://tok3nsecret@127.0.0.1:1", "tok3nsecret", "https://***@127.0.0.1:1"),
    ("ftp://u:secretpw@127.0.0.1:1", "secretpw", "ftp://u:***@127.0.0.1:1"),
])
def test_cli_error_line_hides_base_url_credentials(base_url, secret, shown):
    result = harness_run("--base-url", base_url, "--database-url", "postgresql://u:dbpw@127.0.0.1:1/x")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and shown in result.stderr
    assert secret not in result.stderr + result.stdout and "dbpw" not in result.stderr


@pytest.mark.parametrize("database_url, secret", [
    ("postgresql://u:dbsecret@127.0.0.1:1/x", "dbsecret"),
    ("postgresql://u@127.0.0.1:1/x?password=dbsecret", "dbsecret"),
    ("host=127.0.0.1 port=1 user=u password=dbsecret dbname=x", "dbsecret"),
    ("host=127.0.0.1 port=1 user=u password='db secret' dbname=x", "db secret"),
])
def test_cli_error_line_hides_database_credentials(sandbox_env, database_url, secret):
    base = sandbox_env["BASE_URL"].replace("http://", "http://u:webpw@")
    result = harness_run("--base-url", base, "--database-url", database_url)
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot connect to database "), result.stderr
    assert secret not in result.stderr and "webpw" not in result.stderr and "***" in result.stderr
