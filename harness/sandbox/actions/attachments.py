"""``tickets.add_attachment`` and the document attachment shared by other ticket actions (contract §4.11).

Attachments come from an existing document or stored file. URL sources would need a download
into file storage, which the sandbox does not have: they fail with AlgaPSA's download error.
"""
from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from ..runtime.run_errors import action_error
from .base import Action, ActionContext, invalid, provided_key, transient, utc_now
from .comments import create_comment
from .schema import UUID, Enum, Obj, Refine, Str

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ALLOWED_MIME_TYPES = frozenset({"application/pdf", "text/plain", "image/png", "image/jpeg", "image/webp",
                                "application/octet-stream"})

SOURCE = Obj(fields={"file_id": UUID.optional(), "document_id": UUID.optional(), "url": Str(fmt="url").optional()},
             refinements=(Refine(lambda s: bool(s.get("file_id") or s.get("document_id") or s.get("url")),
                                 "One of file_id, document_id, or url is required"),))

_ASSOCIATE = """
INSERT INTO document_associations (tenant, association_id, document_id, entity_id, entity_type, created_at)
VALUES (%s, %s, %s, %s, 'ticket', %s) ON CONFLICT (tenant, document_id, entity_id, entity_type) DO NOTHING
"""
_DOCUMENT = """
INSERT INTO documents (tenant, document_id, document_name, type_id, shared_type_id, user_id, created_by, entered_at,
                       updated_at, file_id, storage_path, mime_type, file_size)
VALUES (%s, %s, %s, NULL, NULL, %s, %s, %s, %s, %s, %s, %s, %s)
"""


def allowed_mime_type(mime_type: str | None) -> bool:
    """Attachments may be untyped or one of a few safe types (parameters like ``; charset`` ignored)."""
    return not mime_type or mime_type.split(";")[0].strip().lower() in ALLOWED_MIME_TYPES


async def _stored_file(ctx: ActionContext, source: dict[str, Any]) -> dict[str, Any]:
    if source.get("file_id"):
        row = await ctx.one("SELECT file_id, file_name, original_name, mime_type, file_size, storage_path "
                            "FROM external_files WHERE tenant = %s AND file_id = %s AND is_deleted IS NOT TRUE",
                            ctx.tenant, source["file_id"])
        if row is None:
            raise action_error("NOT_FOUND", "File not found", {"file_id": source["file_id"]})
        if row["file_size"] is not None and row["file_size"] > MAX_ATTACHMENT_BYTES:
            raise invalid("Attachment too large")
        if not allowed_mime_type(row["mime_type"]):
            raise invalid("Attachment mime_type not allowed")
        return row
    if urlsplit(source["url"]).scheme.lower() not in ("http", "https"):
        raise invalid("Only http(s) URLs are allowed for attachment ingest")
    raise transient("TRANSIENT_FAILURE", "Failed to download attachment URL",
                    {"url": source["url"], "error": "the sandbox has no file storage to download into"})


async def attach_document(ctx: ActionContext, ticket_id: str, source: dict[str, Any],
                          filename: str | None) -> dict[str, Any]:
    """Associate a document with the ticket (creating it for a stored file).

    Returns ``{document_id, file_id, filename, content_type}``.
    """
    if await ctx.one("SELECT 1 FROM tickets WHERE tenant = %s AND ticket_id = %s", ctx.tenant, ticket_id) is None:
        raise action_error("NOT_FOUND", "Ticket not found", {"ticket_id": ticket_id})
    now = utc_now()
    if source.get("document_id"):
        doc = await ctx.one("SELECT document_id, document_name, file_id, mime_type FROM documents "
                            "WHERE tenant = %s AND document_id = %s", ctx.tenant, source["document_id"])
        if doc is None:
            raise action_error("NOT_FOUND", "Document not found", {"document_id": source["document_id"]})
        await ctx.execute(_ASSOCIATE, ctx.tenant, str(uuid.uuid4()), doc["document_id"], ticket_id, now)
        return {"document_id": doc["document_id"], "file_id": doc["file_id"],
                "filename": doc["document_name"] or "document", "content_type": doc["mime_type"]}
    stored = await _stored_file(ctx, source)
    document_id = str(uuid.uuid4())
    name = filename or stored["original_name"] or stored["file_name"] or "attachment"
    await ctx.execute(_DOCUMENT, ctx.tenant, document_id, name, ctx.actor, ctx.actor, now, now, stored["file_id"],
                      stored["storage_path"], stored["mime_type"], stored["file_size"])
    await ctx.execute(_ASSOCIATE, ctx.tenant, str(uuid.uuid4()), document_id, ticket_id, now)
    return {"document_id": document_id, "file_id": stored["file_id"], "filename": name,
            "content_type": stored["mime_type"]}


async def add_attachment(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("ticket", "update")
    await ctx.require_permission("document", "create")
    attached = await attach_document(ctx, data["ticket_id"], data["source"], data.get("filename"))
    comment = data.get("comment")
    if comment:
        await create_comment(ctx, data["ticket_id"], comment["body"], is_internal=comment["visibility"] == "internal",
                             metadata={"source": "workflow", "attachment_id": attached["document_id"],
                                       "run_id": ctx.run_id, "step_path": ctx.step_path})
    await ctx.audit({"ticket_id": data["ticket_id"], "document_id": attached["document_id"]},
                    ticket_id=data["ticket_id"], document_id=attached["document_id"])
    return {"attachment_id": attached["document_id"], "filename": attached["filename"],
            "mime_type": attached["content_type"], "storage_ref": attached["file_id"]}


ACTIONS = (
    Action(
        id="tickets.add_attachment",
        input=Obj(fields={
            "ticket_id": UUID,
            "source": SOURCE,
            "filename": Str().optional(),
            "visibility": Enum(options=("public", "internal")).optional(),
            "comment": Obj(fields={"body": Str(min_len=1),
                                   "visibility": Enum(options=("public", "internal")).default("public")}).optional(),
            "idempotency_key": Str().optional(),
        }),
        output=Obj(fields={"attachment_id": UUID, "filename": Str(), "mime_type": Str().nullable(),
                           "storage_ref": Str().nullable()}),
        handler=add_attachment,
        key_rule=provided_key,
    ),
)
