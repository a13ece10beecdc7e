"""Temporary overrides (``fx.override``): tenant settings changed for one fixture and put back on
every exit path (pass, fail, interrupt, dead kernel), because the restore is journaled before the
change is written."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from psycopg.types.json import Json

from ..cleanup import Sql
from .finders import SandboxOnly
from .provider_doubles import closed_port, failing_api
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

    def _sandbox_only(self, why: str) -> None:
        if not self._fx.target.is_sandbox:
            raise SandboxOnly(why)

    def failing_email_delivery(self, status: int | None = None, message: str = "Invalid `to` field") -> Record:
        """Email settings whose provider fails to deliver, so ``email.send``'s failure paths can be asserted.

        Without ``status``: an SMTP provider at a loopback port nothing listens on; the connection is
        refused, which AlgaPSA reports as ``TRANSIENT_FAILURE``. With an HTTP ``status``: a Resend provider
        whose API (a double this process runs until cleanup) answers ``status`` with ``message``; a 4xx
        other than 429 is ``INTERNAL_ERROR``. Sandbox only: a real AlgaPSA cannot reach this machine's loopback.
        """
        fx = self._fx
        self._sandbox_only("a failing email provider is a double on this machine's loopback, which only the "
                           "sandbox can reach")
        if status is None:
            config = {**SMTP_TEST_SERVER["config"], "host": "127.0.0.1", "port": closed_port()}
            provider = {**SMTP_TEST_SERVER, "providerId": "fixture-smtp-refused", "config": config}
        else:
            api = failing_api(status, message)
            fx.on_cleanup(api.close, "stop the failing email API")
            provider = {"providerId": "fixture-resend-failing", "providerType": "resend", "isEnabled": True,
                        "config": {"apiKey": "re_fixture", "baseUrl": api.base_url, "from": "no-reply@example.com"}}
        return self.email_settings(email_provider=provider["providerType"], provider_configs=[provider])

    def no_closed_ticket_status(self) -> list[str]:
        """The tenant's closed ticket statuses marked open for this fixture, as on a tenant with none
        configured (``tickets.close`` then fails with ``INTERNAL_ERROR``); cleanup marks them closed again.
        Returns their ids. Sandbox only: on a real tenant, people close tickets meanwhile."""
        fx = self._fx
        self._sandbox_only("hiding the closed ticket statuses would change how a real tenant closes tickets")
        ids = [str(row["status_id"]) for row in fx.db.records(
            "SELECT status_id FROM statuses WHERE tenant = %s AND status_type = 'ticket' AND is_closed", (fx.tenant_id,))]
        fx.on_cleanup(Sql("UPDATE statuses SET is_closed = true WHERE tenant = %s AND status_id = ANY(%s::uuid[])",
                          (fx.tenant_id, ids)), "close the closed ticket statuses again")
        fx.db.writer().execute("UPDATE statuses SET is_closed = false WHERE tenant = %s AND status_id = ANY(%s::uuid[])",
                               (fx.tenant_id, ids))
        return ids

    def no_email_settings(self) -> None:
        """The tenant without email settings for this fixture (``email.send`` then fails with
        ``VALIDATION_ERROR`` ``Tenant email settings not configured``); cleanup puts the rows back as they were."""
        fx = self._fx
        rows = fx.db.records("SELECT * FROM tenant_email_settings WHERE tenant = %s ORDER BY id", (fx.tenant_id,))
        for row in rows:
            columns = ", ".join(f'"{name}"' for name in row)
            slots = ", ".join(["%s"] * len(row))
            fx.on_cleanup(Sql(f"INSERT INTO tenant_email_settings ({columns}) VALUES ({slots})", _params(row)),
                          "put the email settings back")
        fx.db.writer().execute("DELETE FROM tenant_email_settings WHERE tenant = %s", (fx.tenant_id,))

    def without_permission(self, resource: str, action: str) -> int:
        """The workflow's actor (the user who published it) without ``resource:action`` for this fixture:
        that permission's grants to the actor's roles are removed and put back at cleanup. Returns how many
        were removed. Sandbox only: on a real tenant it would take the permission from everyone in those roles."""
        fx = self._fx
        self._sandbox_only("taking a permission from the workflow's actor would take it from everyone in its roles")
        grants = fx.db.records(
            "SELECT DISTINCT rp.role_id, rp.permission_id, rp.created_at FROM role_permissions rp "
            "JOIN permissions p ON p.tenant = rp.tenant AND p.permission_id = rp.permission_id "
            "JOIN user_roles ur ON ur.tenant = rp.tenant AND ur.role_id = rp.role_id "
            "WHERE rp.tenant = %s AND p.resource = %s AND p.action = %s AND ur.user_id = ("
            "  SELECT coalesce(v.published_by, d.created_by) FROM workflow_definitions d "
            "  LEFT JOIN workflow_definition_versions v ON v.workflow_id = d.workflow_id "
            "  WHERE d.workflow_id = %s ORDER BY v.version DESC NULLS LAST LIMIT 1)",
            (fx.tenant_id, resource, action, fx.workflow_id))
        for grant in grants:
            fx.on_cleanup(Sql("INSERT INTO role_permissions (tenant, role_id, permission_id, created_at) "
                              "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                              (fx.tenant_id, grant["role_id"], grant["permission_id"], grant["created_at"])),
                          f"grant {resource}:{action} again")
        writer = fx.db.writer()
        for grant in grants:
            writer.execute("DELETE FROM role_permissions WHERE tenant = %s AND role_id = %s AND permission_id = %s",
                           (fx.tenant_id, grant["role_id"], grant["permission_id"]))
        return len(grants)
