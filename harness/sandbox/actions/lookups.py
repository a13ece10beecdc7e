"""Read-only lookups: ``tickets.find``, ``clients.find``, ``contacts.find`` (contract §4.5, §4.12).

Outputs carry the stored JSON unchanged (ticket attributes, client properties), so booleans,
arrays and nested objects reach ``saveAs`` with their types. Contacts follow HEAD's phone model: a
contact's phone is its default ``contact_phone_numbers`` row.
"""
from __future__ import annotations

import json
import re
from typing import Any

from ..runtime.run_errors import RuntimeFailure, action_error
from .base import Action, ActionContext, invalid, iso
from .schema import DATETIME, UUID, Arr, Bool, Enum, Int, Obj, Record, Refine, Str

_EXTERNAL_REF = re.compile(r"[A-Za-z0-9._:-]+")
_NOT_FOUND = Enum(options=("return_null", "error")).default("return_null")

TICKET = Obj(fields={
    "ticket_id": UUID, "ticket_number": Str(), "title": Str().nullable(), "url": Str().nullable(),
    "company_id": UUID.nullable(), "contact_name_id": UUID.nullable(), "status_id": UUID.nullable(),
    "priority_id": UUID.nullable(), "category_id": UUID.nullable(), "subcategory_id": UUID.nullable(),
    "assigned_to": UUID.nullable(), "entered_at": DATETIME.nullable(), "updated_at": DATETIME.nullable(),
    "closed_at": DATETIME.nullable(), "is_closed": Bool().nullable(), "attributes": Record().optional(),
})
_COMMENT = Obj(fields={
    "comment_id": UUID, "note": Str(), "is_internal": Bool(), "is_resolution": Bool(),
    "is_initial_description": Bool(), "created_at": DATETIME, "user_id": UUID.nullable(),
    "contact_name_id": UUID.nullable(),
})
_ATTACHMENT = Obj(fields={
    "document_id": UUID, "document_name": Str(), "file_id": UUID.nullable(), "mime_type": Str().nullable(),
    "associated_at": DATETIME.nullable(),
})
CLIENT = Obj(fields={"client_id": UUID, "client_name": Str(), "client_type": Str().nullable().optional(),
                     "url": Str().nullable(), "billing_email": Str().nullable().optional(), "is_inactive": Bool(),
                     "properties": Record().nullable(), "updated_at": DATETIME.optional()})
_PRIMARY_CONTACT = Obj(fields={"contact_name_id": UUID, "full_name": Str().nullable(), "email": Str().nullable(),
                               "phone": Str().nullable(), "client_id": UUID.nullable()})
CONTACT = Obj(fields={"contact_name_id": UUID, "full_name": Str().nullable(), "email": Str().nullable(),
                      "phone": Str().nullable(), "client_id": UUID.nullable(), "is_inactive": Bool()})


_WITH_PHONE = """
SELECT c.*, (SELECT p.phone_number FROM contact_phone_numbers p
             WHERE p.tenant = c.tenant AND p.contact_name_id = c.contact_name_id AND p.is_default)
            AS default_phone_number
FROM contacts c WHERE c.tenant = %s AND {where} LIMIT 1
"""


def _json_object(value: Any) -> dict[str, Any] | None:
    """AlgaPSA's ``parseJsonMaybe`` kept to objects: JSON text is parsed, anything but an object is null."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def client_summary(row: dict[str, Any]) -> dict[str, Any]:
    return {"client_id": row["client_id"], "client_name": row["client_name"], "client_type": row["client_type"],
            "url": row["url"], "billing_email": row["billing_email"], "is_inactive": bool(row["is_inactive"]),
            "properties": _json_object(row["properties"]), "updated_at": iso(row["updated_at"])}


def contact_summary(row: dict[str, Any]) -> dict[str, Any]:
    """A contact as the actions report it: ``phone`` is its default phone number when the query joined it."""
    return {"contact_name_id": row["contact_name_id"], "full_name": row["full_name"], "email": row["email"],
            "phone": row.get("default_phone_number"), "client_id": row["client_id"],
            "is_inactive": bool(row["is_inactive"])}


def _parse_stored_properties(client: dict[str, Any]) -> None:
    """AlgaPSA's ``getClientById`` runs ``JSON.parse`` on properties the driver already decoded: an object
    becomes the text ``[object Object]`` and the lookup fails with JavaScript's SyntaxError."""
    if isinstance(client["properties"], dict):
        raise RuntimeFailure("ActionError", '"[object Object]" is not valid JSON', code="INTERNAL_ERROR",
                             details={"name": "SyntaxError"})


async def find_ticket(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("ticket", "read")
    if data.get("ticket_id"):
        where, value = "ticket_id = %s", data["ticket_id"]
    elif data.get("ticket_number"):
        where, value = "ticket_number = %s", data["ticket_number"]
    else:
        where, value = "attributes->>'external_ref' = %s", data["external_ref"]
    ticket = await ctx.one(f"SELECT * FROM tickets WHERE tenant = %s AND {where} LIMIT 1", ctx.tenant, value)
    if ticket is None:
        if data["on_not_found"] == "error":
            raise action_error("NOT_FOUND", "Ticket not found")
        return {"ticket": None, "comments": [], "attachments": []}
    include = data.get("include") or {}
    summary = {name: ticket.get(name) for name in TICKET.fields if name != "attributes"}
    summary.update({name: iso(ticket[name]) for name in ("entered_at", "updated_at", "closed_at")})
    if include.get("attributes") or include.get("custom_fields"):
        attributes = ticket["attributes"]
        summary["attributes"] = attributes if isinstance(attributes, dict) else {}
    result: dict[str, Any] = {"ticket": summary}
    if include.get("comments"):
        rows = await ctx.all("SELECT * FROM comments WHERE tenant = %s AND ticket_id = %s ORDER BY created_at ASC "
                             "LIMIT %s", ctx.tenant, ticket["ticket_id"], include.get("comments_limit", 50))
        result["comments"] = [{"comment_id": r["comment_id"], "note": r["note"], "is_internal": bool(r["is_internal"]),
                               "is_resolution": bool(r["is_resolution"]),
                               "is_initial_description": bool(r.get("is_initial_description")),
                               "created_at": iso(r["created_at"]), "user_id": r["user_id"],
                               "contact_name_id": r.get("contact_name_id")} for r in rows]
    if include.get("attachments"):
        rows = await ctx.all("SELECT d.document_id, d.document_name, d.file_id, d.mime_type, da.created_at "
                             "FROM document_associations da JOIN documents d "
                             "ON d.tenant = da.tenant AND d.document_id = da.document_id "
                             "WHERE da.tenant = %s AND da.entity_type = 'ticket' AND da.entity_id = %s LIMIT %s",
                             ctx.tenant, ticket["ticket_id"], include.get("attachments_limit", 50))
        result["attachments"] = [{"document_id": r["document_id"], "document_name": r["document_name"],
                                  "file_id": r["file_id"], "mime_type": r["mime_type"],
                                  "associated_at": iso(r["created_at"])} for r in rows]
    return result


async def find_client(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("client", "read")
    if data.get("client_id"):
        matched_by, where, value = "client_id", "client_id = %s", data["client_id"]
    elif data.get("name"):
        matched_by, where, value = "name", "lower(client_name) = %s", data["name"].strip().lower()
    else:
        matched_by, where, value = "external_ref", "properties->>'external_ref' = %s", data["external_ref"]
    client = await ctx.one(f"SELECT * FROM clients WHERE tenant = %s AND {where} LIMIT 1", ctx.tenant, value)
    if client is not None and matched_by == "client_id":
        _parse_stored_properties(client)
    if client is None:
        if data["on_not_found"] == "error":
            raise action_error("NOT_FOUND", "Client not found", {"matched_by": matched_by})
        return {"client": None, "primary_contact": None}
    primary = None
    if data["include_primary_contact"]:
        primary = await ctx.one("SELECT * FROM contacts WHERE tenant = %s AND client_id = %s "
                                "ORDER BY is_inactive ASC, created_at ASC LIMIT 1", ctx.tenant, client["client_id"])
    return {"client": client_summary(client), "primary_contact": contact_summary(primary) if primary else None}


async def find_contact(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("contact", "read")
    if data.get("contact_id"):
        matched_by, rows = "contact_id", await ctx.all(_WITH_PHONE.format(where="c.contact_name_id = %s"),
                                                       ctx.tenant, data["contact_id"])
    elif data.get("email"):
        matched_by, rows = "email", await ctx.all(_WITH_PHONE.format(where="c.email = %s"), ctx.tenant,
                                                  data["email"].strip().lower())
    else:
        digits = re.sub(r"\D", "", data["phone"])
        if len(digits) < (10 if data["phone_match"] == "last10" else 7):
            raise invalid("phone is invalid")
        # HEAD matches a ``phone`` column that contacts no longer has, so this query fails there too.
        order = "DESC" if data["match_strategy"] == "most_recent" else "ASC"
        matched_by, rows = "phone", await ctx.all(
            f"SELECT * FROM contacts WHERE tenant = %s AND regexp_replace(coalesce(phone, ''), '\\D', '', 'g') = %s "
            f"ORDER BY is_inactive ASC, created_at {order} LIMIT 5", ctx.tenant, digits)
    if data.get("client_id"):
        rows = [row for row in rows if row["client_id"] == data["client_id"]]
    if not rows:
        if data["on_not_found"] == "error":
            raise action_error("NOT_FOUND", "Contact not found", {"matched_by": matched_by})
        return {"contact": None}
    return {"contact": contact_summary(rows[0])}


_LIMIT = Int(positive=True, maximum=200).optional()

ACTIONS = (
    Action(
        id="tickets.find",
        input=Obj(
            fields={
                "ticket_id": UUID.optional(),
                "ticket_number": Str().optional(),
                "external_ref": Str().optional(),
                "on_not_found": _NOT_FOUND,
                "include": Obj(fields={"comments": Bool().optional(), "attachments": Bool().optional(),
                                       "attributes": Bool().optional(), "custom_fields": Bool().optional(),
                                       "comments_limit": _LIMIT, "attachments_limit": _LIMIT}).optional(),
            },
            refinements=(Refine(lambda d: bool(d.get("ticket_id") or d.get("ticket_number") or d.get("external_ref")),
                                "ticket_id, ticket_number, or external_ref is required"),),
        ),
        output=Obj(fields={"ticket": TICKET.nullable(), "comments": Arr(item=_COMMENT).optional(),
                           "attachments": Arr(item=_ATTACHMENT).optional()}),
        handler=find_ticket,
    ),
    Action(
        id="clients.find",
        input=Obj(
            fields={
                "client_id": UUID.optional(),
                "name": Str().optional(),
                "external_ref": Str().optional(),
                "include_primary_contact": Bool().default(False),
                "on_not_found": _NOT_FOUND,
            },
            refinements=(
                Refine(lambda d: bool(d.get("client_id") or d.get("name") or d.get("external_ref")),
                       "client_id, name, or external_ref required"),
                Refine(lambda d: not d.get("external_ref") or bool(_EXTERNAL_REF.fullmatch(d["external_ref"])),
                       "external_ref has invalid format"),
            ),
        ),
        output=Obj(fields={"client": CLIENT.nullable(), "primary_contact": _PRIMARY_CONTACT.nullable()}),
        handler=find_client,
    ),
    Action(
        id="contacts.find",
        input=Obj(
            fields={
                "contact_id": UUID.optional(),
                "email": Str(fmt="email").optional(),
                "phone": Str().optional(),
                "phone_match": Enum(options=("exact", "last7", "last10")).default("exact"),
                "client_id": UUID.optional(),
                "on_not_found": _NOT_FOUND,
                "match_strategy": Enum(options=("first_created", "most_recent")).default("first_created"),
            },
            refinements=(Refine(lambda d: bool(d.get("contact_id") or d.get("email") or d.get("phone")),
                                "contact_id, email, or phone required"),),
        ),
        output=Obj(fields={"contact": CONTACT.nullable()}),
        handler=find_contact,
    ),
)
