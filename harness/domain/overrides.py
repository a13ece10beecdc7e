"""Temporary overrides (``fx.override``): tenant settings changed for one fixture and put back on
every exit path (pass, fail, interrupt, dead kernel), because the restore is journaled before the
change is written."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from psycopg.types.json import Json

from ..cleanup import Sql
from .record import Record

if TYPE_CHECKING:
    from ..fixture import Fixture

# AlgaPSA's test environment's SMTP server (imap-test-server:3025); the sandbox keeps the mail itself.
SMTP_TEST_SERVER = {"providerId": "fixture-smtp", "providerType": "smtp", "isEnabled": True,
                    "config": {"host": "imap-test-server", "port": 3025, "secure": False, "username": "imap_user",
                               "password": "imap_pass", "from": "no-reply@example.com",
                               "rejectUnauthorized": False}}
EMAIL_SETTINGS = {"default_from_domain": "example.com", "ticketing_from_email": None, "custom_domains": [],
                  "email_provider": "smtp", "provider_configs": [SMTP_TEST_SERVER], "fallback_enabled": True,
                  "tracking_enabled": False, "max_daily_emails": None}


def _params(values: Mapping[str, Any]) -> list[Any]:
    return [Json(v) if isinstance(v, (list, dict)) else v for v in values.values()]


class Overrides:
    """Settings a fixture needs for a while, restored afterwards."""

    def __init__(self, fx: Fixture) -> None:
        self._fx = fx

    def email_settings(self, **changes: Any) -> Record:
        """The tenant's email settings set to :data:`EMAIL_SETTINGS` (SMTP to AlgaPSA's test server) updated
        with ``changes``; cleanup restores the previous row, or removes it when the tenant had none."""
        fx = self._fx
        settings = {**EMAIL_SETTINGS, **changes}
        columns = ", ".join(settings)
        slots = ", ".join(["%s"] * len(settings))
        writer = fx.db.writer()
        previous = fx.db.one(f"SELECT id, {columns}, updated_at FROM tenant_email_settings WHERE tenant = %s "
                             "ORDER BY id LIMIT 1", (fx.tenant_id,))
        if previous is None:
            settings_id = writer.records("SELECT nextval(pg_get_serial_sequence('tenant_email_settings', 'id')) AS id")[0]["id"]
            fx.on_cleanup(Sql("DELETE FROM tenant_email_settings WHERE id = %s", (settings_id,)),
                          "remove the email settings")
            writer.execute(f"INSERT INTO tenant_email_settings (id, tenant, {columns}, created_at, updated_at) "
                           f"VALUES (%s, %s, {slots}, now(), now())", (settings_id, fx.tenant_id, *_params(settings)))
        else:
            settings_id = previous["id"]
            restore = f"UPDATE tenant_email_settings SET ({columns}, updated_at) = ({slots}, %s) WHERE id = %s"
            old = {column: previous[column] for column in settings}
            fx.on_cleanup(Sql(restore, (*_params(old), previous["updated_at"], settings_id)),
                          "restore the email settings")
            writer.execute(f"UPDATE tenant_email_settings SET ({columns}, updated_at) = ({slots}, now()) WHERE id = %s",
                           (*_params(settings), settings_id))
        return Record(fx.db.one(f"SELECT id, {columns} FROM tenant_email_settings WHERE id = %s", (settings_id,)) or {})
