"""Paged searches: ``clients.search`` and ``contacts.search`` (fixture-era registry, contract §4.13).

Tag filters join AlgaPSA's ``tag_mappings`` / ``tag_definitions``; where those tables are absent
the database error becomes the action's error, as it would in AlgaPSA. HEAD's contact search also
matches a ``phone`` column that contacts no longer has (phones moved to ``contact_phone_numbers``),
so every contact search fails with that database error, there and here.
"""
from __future__ import annotations

import re
from typing import Any

from .base import Action, ActionContext, invalid
from .lookups import CLIENT, CONTACT, client_summary, contact_summary
from .schema import UUID, Arr, Bool, Enum, Int, Obj, Str

MIN_QUERY_LEN = 2

_TAGGED = ("JOIN tag_mappings tm ON tm.tenant = {t}.tenant AND tm.tagged_id = {t}.{key} "
           "JOIN tag_definitions td ON td.tenant = tm.tenant AND td.tag_id = tm.tag_id "
           "AND tm.tagged_type = '{kind}' AND td.tag_text = ANY(%s)")


def _pattern(query: str) -> str:
    text = query.strip()
    if len(text) < MIN_QUERY_LEN:
        raise invalid(f"query must be at least {MIN_QUERY_LEN} characters")
    return "%" + re.sub(r"[%_\\]", lambda m: "\\" + m.group(0), text) + "%"


async def _page(ctx: ActionContext, table: str, key: str, joins: str, where: str, params: list[Any],
                order: str, data: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """One page of distinct rows matching ``where``, and the total number of matches."""
    source = f"FROM {table} {joins} WHERE {where}"
    total = await ctx.one(f"SELECT count(DISTINCT {table}.{key}) AS n {source}", *params)
    rows = await ctx.all(f"SELECT DISTINCT {table}.* {source} ORDER BY {order}, {table}.{key} ASC LIMIT %s OFFSET %s",
                         *params, data["page_size"], (data["page"] - 1) * data["page_size"])
    return rows, int(total["n"])


def _filters(data: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    filters = data.get("filters") or {}
    return filters, filters.get("sort_by", "name"), filters.get("sort_order", "asc").upper()


async def search_clients(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("client", "read")
    pattern = _pattern(data["query"])
    filters, sort_by, direction = _filters(data)
    where, params = "clients.tenant = %s", [ctx.tenant]
    joins = ""
    if filters.get("tags"):
        joins, params = _TAGGED.format(t="clients", key="client_id", kind="client"), [filters["tags"], *params]
    if not filters.get("include_inactive"):
        where += " AND clients.is_inactive IS NOT TRUE"
    where += " AND clients.client_name ILIKE %s ESCAPE '\\'"
    order = "clients.updated_at" if sort_by == "updated_at" else "clients.client_name"
    rows, total = await _page(ctx, "clients", "client_id", joins, where, [*params, pattern], f"{order} {direction}",
                              data)
    clients = [client_summary(row) for row in rows]
    return {"clients": clients, "first_client": clients[0] if clients else None, "page": data["page"],
            "page_size": data["page_size"], "total": total}


async def search_contacts(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("contact", "read")
    pattern = _pattern(data["query"])
    filters, sort_by, direction = _filters(data)
    where, params = "contacts.tenant = %s", [ctx.tenant]
    joins = ""
    if filters.get("tags"):
        joins, params = _TAGGED.format(t="contacts", key="contact_name_id", kind="contact"), [filters["tags"], *params]
    where += (" AND (contacts.full_name ILIKE %s ESCAPE '\\' OR contacts.email ILIKE %s ESCAPE '\\' "
              "OR phone ILIKE %s ESCAPE '\\')")
    params += [pattern] * 3
    if data.get("client_id"):
        where += " AND contacts.client_id = %s"
        params.append(data["client_id"])
    order = "contacts.updated_at" if sort_by == "updated_at" else "contacts.full_name"
    rows, total = await _page(ctx, "contacts", "contact_name_id", joins, where, params, f"{order} {direction}", data)
    contacts = [contact_summary(row) for row in rows]
    return {"contacts": contacts, "first_contact": contacts[0] if contacts else None, "page": data["page"],
            "page_size": data["page_size"], "total": total}


_SORT = {"sort_by": Enum(options=("name", "updated_at")).optional(),
         "sort_order": Enum(options=("asc", "desc")).optional()}
_PAGING = {"page": Int(positive=True).default(1), "page_size": Int(positive=True, maximum=100).default(25)}
_RESULT = {"page": Int(), "page_size": Int(), "total": Int()}

ACTIONS = (
    Action(
        id="clients.search",
        input=Obj(fields={
            "query": Str(min_len=1),
            "filters": Obj(fields={"include_inactive": Bool().optional(), "tags": Arr(item=Str()).optional(),
                                   **_SORT}).optional(),
            **_PAGING,
        }),
        output=Obj(fields={"clients": Arr(item=CLIENT), "first_client": CLIENT.nullable(), **_RESULT}),
        handler=search_clients,
    ),
    Action(
        id="contacts.search",
        input=Obj(fields={
            "query": Str(min_len=1),
            "client_id": UUID.optional(),
            "filters": Obj(fields={"tags": Arr(item=Str()).optional(), **_SORT}).optional(),
            **_PAGING,
        }),
        output=Obj(fields={"contacts": Arr(item=CONTACT), "first_contact": CONTACT.nullable(), **_RESULT}),
        handler=search_contacts,
    ),
)
