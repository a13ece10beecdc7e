"""Tenant picks: the existing rows a fixture builds on (``fx.picks``), each one query, read-only
except :meth:`Picks.technician`, which may grant the role for the fixture's duration."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..cleanup import Sql
from ..errors import FixtureError
from .record import Record

if TYPE_CHECKING:
    import pandas as pd

    from ..fixture import Fixture

_TICKET_DEFAULTS = """
SELECT c.client_id, c.client_name, b.board_id, b.board_name, s.status_id, s.name AS status_name,
       p.priority_id, p.priority_name
FROM (SELECT * FROM clients WHERE tenant = %(tenant)s ORDER BY created_at LIMIT 1) c
CROSS JOIN (SELECT * FROM boards WHERE tenant = %(tenant)s ORDER BY is_default DESC, display_order LIMIT 1) b
JOIN LATERAL (SELECT * FROM statuses WHERE tenant = b.tenant AND board_id = b.board_id AND status_type = 'ticket'
              ORDER BY is_default DESC, order_number LIMIT 1) s ON true
CROSS JOIN (SELECT * FROM priorities WHERE tenant = %(tenant)s ORDER BY order_number {direction} LIMIT 1) p
"""
_USERS = """
SELECT u.user_id, u.username, u.first_name, u.last_name, u.email,
       COALESCE(array_agg(r.role_name ORDER BY r.role_name) FILTER (WHERE r.role_id IS NOT NULL), '{{}}') AS roles
FROM users u
LEFT JOIN user_roles ur ON ur.tenant = u.tenant AND ur.user_id = u.user_id
LEFT JOIN roles r ON r.tenant = ur.tenant AND r.role_id = ur.role_id
WHERE u.tenant = %(tenant)s AND u.user_type = 'internal' AND NOT u.is_inactive
GROUP BY u.user_id, u.username, u.first_name, u.last_name, u.email, u.created_at
{having}
ORDER BY u.created_at, u.user_id
"""
_ROLE = "SELECT role_id FROM roles WHERE tenant = %s AND lower(role_name) = lower(%s) ORDER BY created_at LIMIT 1"
_GRANT = "INSERT INTO user_roles (tenant, user_id, role_id) VALUES (%s, %s, %s)"
_REVOKE = "DELETE FROM user_roles WHERE tenant = %s AND user_id = %s AND role_id = %s"


class Picks:
    """The rows AlgaPSA's own fixtures pick in a tenant: oldest client, default board and status, ..."""

    def __init__(self, fx: Fixture) -> None:
        self._fx = fx

    def _one(self, sql: str, params: Any, needs: str) -> Record:
        row = self._fx.db.one(sql, params)
        if row is None:
            raise FixtureError(f"tenant {self._fx.tenant_id} needs {needs}")
        return Record(row)

    def ticket_defaults(self, priority: str = "lowest") -> Record:
        """The oldest client, the default board, its default ticket status, and the lowest (or
        ``priority="highest"``) priority: what a ticket needs, one row."""
        if priority not in ("lowest", "highest"):
            raise FixtureError(f"priority must be 'lowest' or 'highest', not {priority!r}")
        sql = _TICKET_DEFAULTS.format(direction="DESC" if priority == "highest" else "")
        return self._one(sql, {"tenant": self._fx.tenant_id}, "a client, a board with a ticket status and a priority")

    def client(self) -> Record:
        """The tenant's oldest client."""
        return self._one("SELECT client_id, client_name FROM clients WHERE tenant = %s ORDER BY created_at LIMIT 1",
                         (self._fx.tenant_id,), "a client")

    def team(self) -> Record:
        """The tenant's oldest team, with its manager (a team assignee resolves to ``manager_id``)."""
        return self._one("SELECT team_id, team_name, manager_id FROM teams WHERE tenant = %s "
                         "ORDER BY created_at, team_id LIMIT 1", (self._fx.tenant_id,), "a team")

    def service(self) -> Record:
        """A service of the tenant's catalog (the first by name), e.g. for ``time.create_entry``."""
        return self._one("SELECT service_id, service_name FROM service_catalog WHERE tenant = %s "
                         "ORDER BY service_name LIMIT 1", (self._fx.tenant_id,), "a service")

    def board(self) -> Record:
        """The default board (else the first by display order)."""
        return self._one("SELECT board_id, board_name FROM boards WHERE tenant = %s "
                         "ORDER BY is_default DESC, display_order LIMIT 1", (self._fx.tenant_id,), "a board")

    def priority(self, highest: bool = False) -> Record:
        """The lowest-ordered priority, or the highest."""
        return self._one("SELECT priority_id, priority_name, order_number FROM priorities WHERE tenant = %s "
                         f"ORDER BY order_number {'DESC' if highest else ''} LIMIT 1", (self._fx.tenant_id,),
                         "a priority")

    def status(self, board_id: str, *, name_like: str | None = None, exclude: str | None = None,
               open_only: bool = False) -> Record:
        """A ticket status of ``board_id``: named like ``name_like`` first, then the default, then by order;
        ``exclude`` skips one status, ``open_only`` skips closed ones."""
        return self._one(
            "SELECT status_id, name AS status_name, is_closed, is_default, order_number FROM statuses "
            "WHERE tenant = %(tenant)s AND board_id = %(board)s AND status_type = 'ticket' "
            "AND (%(exclude)s::uuid IS NULL OR status_id <> %(exclude)s::uuid) AND (NOT %(open)s OR NOT is_closed) "
            "ORDER BY (%(like)s::text IS NOT NULL AND name ILIKE '%%' || %(like)s || '%%') DESC, "
            "is_default DESC, order_number LIMIT 1",
            {"tenant": self._fx.tenant_id, "board": board_id, "exclude": exclude, "open": open_only,
             "like": name_like}, f"a ticket status on board {board_id}" + (" other than the excluded one" if exclude
                                                                             else ""))

    def users(self, role: str | None = None) -> pd.DataFrame:
        """Active internal users, oldest first, with their role names; only those holding ``role`` if given."""
        having = "HAVING bool_or(lower(r.role_name) = lower(%(role)s))" if role else ""
        return self._fx.db.query(_USERS.format(having=having), {"tenant": self._fx.tenant_id, "role": role})

    def user(self, role: str | None = None) -> Record:
        """The oldest active internal user (holding ``role``, if given)."""
        users = self.users(role)
        if users.empty:
            raise FixtureError(f"tenant {self._fx.tenant_id} needs an active user" + (f" with role {role}" if role else ""))
        return Record(users.iloc[0].to_dict())

    def technician(self) -> Record:
        """The oldest active user holding the Technician role. When nobody holds it, the oldest active
        user is granted it until the fixture's cleanup (journaled, so a dead kernel still revokes it)."""
        found = self.users("technician")
        if not found.empty:
            return Record(found.iloc[0].to_dict())
        fx = self._fx
        role_id = fx.db.scalar(_ROLE, (fx.tenant_id, "technician"))
        if role_id is None:
            raise FixtureError(f"tenant {fx.tenant_id} needs a Technician role")
        user = self.user()
        fx.on_cleanup(Sql(_REVOKE, (fx.tenant_id, user.user_id, role_id)), "revoke the Technician role")
        fx.db.writer().execute(_GRANT, (fx.tenant_id, user.user_id, role_id))
        return Record(self.users("technician").iloc[0].to_dict())

    def contact(self, client_id: str | None = None) -> Record:
        """The oldest active contact (of ``client_id``, if given)."""
        return self._one("SELECT contact_name_id, full_name, email, client_id FROM contacts WHERE tenant = %s "
                         "AND NOT is_inactive AND (%s::uuid IS NULL OR client_id = %s::uuid) "
                         "ORDER BY created_at, contact_name_id LIMIT 1", (self._fx.tenant_id, client_id, client_id),
                         "an active contact" + (f" of client {client_id}" if client_id else ""))
