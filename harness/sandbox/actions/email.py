"""``email.send`` (contract §4.7) and the tenant mail path ``tickets.close`` notifies through.

Nothing leaves the machine: a message that AlgaPSA would hand to the tenant's SMTP or Resend
provider is recorded in the sandbox's ``email_outbox`` table instead (a provider on loopback, a test
double, is also really sent to: :mod:`.email_delivery`). Settings, provider
selection, templating, sender rules and attachment checks follow AlgaPSA.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from ..runtime.run_errors import RuntimeFailure, action_error
from .attachments import allowed_mime_type
from .base import Action, ActionContext, invalid, iso, js_string, provided_key, transient, utc_now
from .email_delivery import deliver_resend, deliver_smtp, is_local
from .schema import DATETIME, UUID, Arr, Bool, Enum, Obj, Record, Str


@dataclass(frozen=True)
class Provider:
    """The tenant provider a message goes through, with its capabilities."""

    provider_id: str
    provider_type: str
    max_recipients: int
    max_attachment_bytes: int
    options: dict[str, Any]


_CAPABILITIES = {"smtp": (100, 25 * 1024 * 1024), "resend": (50, 40 * 1024 * 1024)}
_SMTP_REQUIRED = ("host", "port", "username", "password", "from")

_OUTBOX = """
INSERT INTO email_outbox (outbox_id, tenant, message_id, provider_id, "from", "to", cc, bcc, subject, text, html,
                          attachments, run_id, step_path, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


@dataclass(frozen=True)
class Settings:
    """A tenant's ``tenant_email_settings`` row, normalised the way AlgaPSA reads it."""

    default_from_domain: str | None
    ticketing_from_email: str | None
    custom_domains: list[str]
    provider_configs: list[dict[str, Any]]

    def default_from(self) -> dict[str, str]:
        domain = self.default_from_domain or (self.custom_domains[0] if self.custom_domains else None)
        email = self.ticketing_from_email or (f"no-reply@{domain}" if domain else None)
        if not email:
            raise invalid("No default From address configured for tenant")
        return {"email": email}

    def check_sender(self, sender: dict[str, Any]) -> None:
        domain = str(sender["email"]).split("@")[1].lower() if "@" in str(sender["email"]) else ""
        allowed = {d.lower() for d in self.custom_domains}
        if self.default_from_domain:
            allowed.add(self.default_from_domain.lower())
        if domain and allowed and domain not in allowed:
            raise invalid("From address domain is not allowed for this tenant")


def _json_value(raw: Any) -> Any:
    """A ``json`` column's value; text that is not JSON stays text."""
    if isinstance(raw, str):
        try:
            return json.loads(raw.strip()) if raw.strip() else None
        except ValueError:
            return raw
    return raw


def _domains(raw: Any) -> list[str]:
    value = _json_value(raw)
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [d for d in value if isinstance(d, str) and d.strip()] if isinstance(value, list) else []


async def load_settings(ctx: ActionContext) -> Settings | None:
    row = await ctx.one("SELECT default_from_domain, ticketing_from_email, custom_domains, provider_configs "
                        "FROM tenant_email_settings WHERE tenant = %s ORDER BY id LIMIT 1", ctx.tenant)
    if row is None:
        return None
    configs = _json_value(row["provider_configs"])
    return Settings(row["default_from_domain"] or None, row["ticketing_from_email"] or None,
                    _domains(row["custom_domains"]), configs if isinstance(configs, list) else [])


def pick_provider(configs: list[dict[str, Any]]) -> Provider | None:
    """The first enabled provider, validated like AlgaPSA initialises it (plain errors → ActionError)."""
    config = next((c for c in configs if isinstance(c, dict) and c.get("isEnabled")), None)
    if config is None:
        return None
    kind, provider_id, options = config.get("providerType"), str(config.get("providerId")), config.get("config")
    options = options if isinstance(options, dict) else {}
    if kind == "smtp":
        missing = [name for name in _SMTP_REQUIRED if not options.get(name)]
        if missing:
            raise RuntimeFailure("ActionError", "SMTP initialization failed: Missing required SMTP configuration "
                                                f"fields: {', '.join(missing)}")
        port = str(options["port"]).strip()
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise RuntimeFailure("ActionError", "SMTP initialization failed: Invalid SMTP port number")
    elif kind == "resend":
        if not isinstance(options.get("apiKey") or options.get("api_key"), str):
            raise RuntimeFailure("ActionError", "Resend initialization failed: Resend API key is required")
    else:
        raise RuntimeFailure("ActionError", f"Unsupported provider type: {kind}")
    return Provider(provider_id, kind, *_CAPABILITIES[kind], options)


def render(template: str, data: dict[str, Any]) -> str:
    """Replace ``{{key}}`` placeholders (nested keys dotted) with template data; unknown ones stay."""
    for key, value in _flatten(data).items():
        template = template.replace("{{" + key + "}}", js_string(value))
    return template


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            flat.update(_flatten(value, name))
        else:
            flat[name] = value
    return flat


def html_to_text(html: str) -> str:
    """The plain-text part AlgaPSA derives from HTML: tags dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", "", html)).strip()


async def record_message(ctx: ActionContext, provider: Provider, message: dict[str, Any]) -> dict[str, Any]:
    """"Send" a message: one ``email_outbox`` row. Returns AlgaPSA's send result fields."""
    now = utc_now()
    domain = message["from"]["email"].split("@")[-1]
    message_id = f"<{uuid.uuid4()}@{domain}>"
    optional = [Jsonb(message[k]) if message.get(k) is not None else None for k in ("cc", "bcc", "attachments")]
    await ctx.execute(_OUTBOX, str(uuid.uuid4()), ctx.tenant, message_id, provider.provider_id,
                      Jsonb(message["from"]), Jsonb(message["to"]), optional[0], optional[1], message["subject"],
                      message.get("text"), message.get("html"), optional[2], ctx.run_id, ctx.step_path, now)
    return {"message_id": message_id, "provider_id": provider.provider_id, "provider_type": provider.provider_type,
            "sent_at": iso(now)}


async def send_tenant_email(ctx: ActionContext, to: dict[str, Any], subject: str, html: str, text: str,
                            failure: str) -> None:
    """AlgaPSA's tenant email service as ``tickets.close`` uses it: default sender, first provider.

    Any failure to deliver becomes a ``TransientError`` (``failure`` when there is no better reason).
    """
    settings = await load_settings(ctx)
    if settings is None:
        raise transient("TRANSIENT_FAILURE", failure)
    try:
        provider = pick_provider(settings.provider_configs)
        sender = settings.default_from()
    except RuntimeFailure as exc:
        raise transient("TRANSIENT_FAILURE", exc.message) from None
    if provider is None:
        raise transient("TRANSIENT_FAILURE", failure)
    await record_message(ctx, provider, {"from": sender, "to": [to], "subject": subject, "html": html, "text": text})


async def _attachments(ctx: ActionContext, file_ids: list[str], provider: Provider) -> list[dict[str, Any]]:
    attached = []
    for file_id in file_ids:
        row = await ctx.one("SELECT file_id, file_name, original_name, mime_type, file_size, storage_path "
                            "FROM external_files WHERE tenant = %s AND file_id = %s AND is_deleted IS NOT TRUE",
                            ctx.tenant, file_id)
        if row is None:
            raise action_error("NOT_FOUND", "Attachment file not found", {"file_id": file_id})
        if int(row["file_size"] or 0) > provider.max_attachment_bytes:
            raise invalid("Attachment too large")
        if not allowed_mime_type(row["mime_type"]):
            raise invalid("Attachment mime_type not allowed")
        attached.append({"file_id": row["file_id"], "filename": row["original_name"] or row["file_name"],
                         "content_type": row["mime_type"], "storage_path": row["storage_path"]})
    return attached


async def send(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("email", "process")
    settings = await load_settings(ctx)
    if settings is None:
        raise action_error("VALIDATION_ERROR", "Tenant email settings not configured")
    configs = list(settings.provider_configs)
    if data.get("provider_id"):
        index = next((i for i, c in enumerate(configs)
                      if isinstance(c, dict) and c.get("providerId") == data["provider_id"]), None)
        if index is None:
            raise invalid("Unknown provider_id")
        configs.insert(0, configs.pop(index))
    provider = pick_provider(configs)
    if provider is None:
        raise action_error("VALIDATION_ERROR", "No enabled email provider configured")

    template_data = data.get("template_data") or {}
    html = data.get("html") or ""
    text = data.get("text") or html_to_text(html)
    sender = data.get("from") or settings.default_from()
    settings.check_sender(sender)
    attachments = await _attachments(ctx, data.get("attachment_file_ids") or [], provider)
    if len(data["to"]) + len(data.get("cc") or []) + len(data.get("bcc") or []) > provider.max_recipients:
        raise invalid("Too many recipients for email provider")

    message = {"from": sender, "to": data["to"], "cc": data.get("cc"), "bcc": data.get("bcc"),
               "subject": render(data["subject"], template_data), "html": render(html, template_data),
               "text": render(text, template_data), "attachments": attachments or None}
    if is_local(provider.provider_type, provider.options):
        await (deliver_smtp if provider.provider_type == "smtp" else deliver_resend)(provider.options, message)
    result = await record_message(ctx, provider, message)
    await ctx.audit({"to_count": len(data["to"]), "cc_count": len(data.get("cc") or []),
                     "bcc_count": len(data.get("bcc") or [])},
                    provider_id=result["provider_id"], provider_type=result["provider_type"],
                    message_id=result["message_id"])
    return {"success": True, **result, "status": "sent"}


_ADDRESS = Obj(fields={"email": Str(fmt="email"), "name": Str().optional()})

ACTIONS = (
    Action(
        id="email.send",
        input=Obj(fields={
            "to": Arr(item=_ADDRESS, min_len=1),
            "cc": Arr(item=_ADDRESS).optional(),
            "bcc": Arr(item=_ADDRESS).optional(),
            "from": _ADDRESS.optional(),
            "subject": Str(min_len=1),
            "html": Str().optional(),
            "text": Str().optional(),
            "template_data": Record().optional(),
            "attachment_file_ids": Arr(item=UUID).optional(),
            "provider_id": Str().optional(),
            "idempotency_key": Str().optional(),
        }),
        output=Obj(fields={"success": Bool(), "message_id": Str().nullable(), "provider_id": Str().nullable(),
                           "provider_type": Str().nullable(), "status": Enum(options=("sent",)),
                           "sent_at": DATETIME.nullable()}),
        handler=send,
        key_rule=provided_key,
        retry={"maxAttempts": 3, "backoffMs": 1000, "retryOn": ["TransientError"]},
    ),
)
