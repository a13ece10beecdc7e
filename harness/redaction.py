"""Secrets out of everything the harness prints or writes.

Two kinds of scrubbing, always together in :func:`redact_text`:

* known values (API keys, cookies, database passwords) are replaced wherever they appear, also in their
  JSON-escaped and percent-encoded forms;
* credentials recognised by their shape are masked even when nobody listed them: the password of a URL
  (``postgresql://user:pw@host``, ``https://user:pw@host``), a token-only userinfo (``https://token@host``),
  ``?password=`` in a query string, libpq ``password=pw`` / ``password='p w'``, and JSON ``"password": "…"``.

:func:`credentials_in` finds the same values, so a target can list its own secrets from its URLs.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable, Mapping
from urllib.parse import quote, unquote

MASK = "***"
"""Replaces a credential inside a URL or DSN; the rest stays readable."""
REDACTED = "[REDACTED]"
"""Replaces a known secret value."""
MIN_SECRET_LEN = 4
"""Known values shorter than this are not replaced in free text (they would mangle ordinary words)."""
_MIN_COOKIE_VALUE_LEN = 8

# scheme://userinfo@ — userinfo runs to the last "@" before the host part ends; quotes, spaces and
# backslashes end it too, so a URL inside JSON or a sentence never swallows its surroundings.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s\"'<>\\`]*)@")
# ?password=… / &sslpassword=… in a URL query: the value ends at the next parameter.
_QUERY_PASSWORD = re.compile(r"(?P<key>[?&;](?:ssl)?password=)(?P<value>[^&#\s\"'<>]*)", re.IGNORECASE)
# libpq key=value (also PGPASSWORD=…, DB_PASSWORD=…): a single-quoted value with backslash escapes,
# or an unquoted one up to whitespace or a double quote (the end of a JSON string).
_KEYWORD_PASSWORD = re.compile(
    r"(?P<key>(?<![A-Za-z0-9?&;])(?:pg|ssl)?passw(?:or)?d\s*=\s*)"
    r"(?P<value>'(?:[^'\\\n]|\\.)*(?:'|(?=\n)|$)|(?:\\.|[^\s\\'\"])+)", re.IGNORECASE)
# "password": "…" in JSON text (also "db_password", "sslPassword").
_JSON_PASSWORD = re.compile(r"(?P<key>\"[A-Za-z_]*pass(?:word|wd)\"\s*:\s*)\"(?P<value>(?:[^\"\\]|\\.)*)\"",
                            re.IGNORECASE)
_USER_ONLY_SCHEMES = ("postgres://", "postgresql://")  # there a bare userinfo is a role name, not a token


def _mask_userinfo(match: re.Match[str]) -> str:
    scheme, userinfo = match.group("scheme"), match.group("userinfo")
    user, colon, password = userinfo.partition(":")
    if colon:
        return f"{scheme}{user}:{MASK}@" if password else match.group(0)
    if not userinfo or scheme.lower() in _USER_ONLY_SCHEMES:
        return match.group(0)
    return f"{scheme}{MASK}@"


def redact_url(text: str) -> str:
    """Mask every URL and DSN credential in ``text`` (a single URL/DSN, or any text holding them).

    ``postgresql://u:pw@h/db`` → ``postgresql://u:***@h/db``; ``https://token@h`` → ``https://***@h``;
    ``?password=pw`` → ``?password=***``; ``password='p w' host=h`` → ``password=*** host=h``.
    A role name alone (``postgresql://u@h/db``) is kept.
    """
    if not text:
        return text
    text = _USERINFO.sub(_mask_userinfo, text)
    text = _QUERY_PASSWORD.sub(lambda m: m.group("key") + (MASK if m.group("value") else ""), text)
    text = _KEYWORD_PASSWORD.sub(lambda m: m.group("key") + MASK, text)
    return _JSON_PASSWORD.sub(lambda m: f'{m.group("key")}"{MASK}"', text)


def _libpq_unquote(value: str) -> str:
    body = value[1:-1] if len(value) >= 2 and value.startswith("'") and value.endswith("'") else value.lstrip("'")
    return re.sub(r"\\(.)", r"\1", body)


def credentials_in(text: str | None) -> list[str]:
    """The credential values :func:`redact_url` would mask in ``text``, raw and decoded."""
    if not text:
        return []
    found: list[str] = []
    for match in _USERINFO.finditer(text):
        scheme, userinfo = match.group("scheme"), match.group("userinfo")
        user, colon, password = userinfo.partition(":")
        if colon:
            found += [password, unquote(password)]
        elif userinfo and scheme.lower() not in _USER_ONLY_SCHEMES:
            found += [userinfo, unquote(userinfo)]
    for match in _QUERY_PASSWORD.finditer(text):
        found += [match.group("value"), unquote(match.group("value"))]
    for match in _KEYWORD_PASSWORD.finditer(text):
        found += [match.group("value"), _libpq_unquote(match.group("value"))]
    for match in _JSON_PASSWORD.finditer(text):
        found.append(match.group("value"))
        try:
            found.append(json.loads(f'"{match.group("value")}"'))
        except ValueError:
            pass
    import psycopg.conninfo  # here, not at the top: the CLI imports this module and should start fast

    try:  # the password exactly as libpq will read it from a DSN
        found.append(psycopg.conninfo.conninfo_to_dict(text).get("password") or "")
    except (psycopg.ProgrammingError, ValueError, TypeError):
        pass
    return unique(found)


def cookie_secrets(cookie: str | None) -> list[str]:
    """A ``Cookie`` header and each of its long values (session tokens), which may travel alone."""
    if not cookie:
        return []
    values = [part.partition("=")[2].strip() for part in cookie.split(";")]
    return unique([cookie, *(v for v in values if len(v) >= _MIN_COOKIE_VALUE_LEN)])


_SECRET_KEY = re.compile(r"api_?key|password|passwd|secret|token|cookie|session", re.IGNORECASE)


def secrets_in_data(data: Any) -> list[str]:
    """Every secret in a JSON-like structure: values under key/cookie/password/token keys, URL credentials."""
    found: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v, key)
        elif isinstance(value, str):
            if _SECRET_KEY.search(key):
                found.extend(cookie_secrets(value))
            found.extend(credentials_in(value))

    walk(data)
    return unique(found)


def unique(values: Iterable[str | None]) -> list[str]:
    """Non-empty values, first occurrence kept, in order."""
    return list(dict.fromkeys(v for v in values if v))


def _variants(secret: str) -> set[str]:
    return {secret, json.dumps(secret)[1:-1], quote(secret, safe="")}


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Replace each known secret with ``[REDACTED]`` (longest first), then mask URL/DSN credentials."""
    known = {v for s in secrets if s and len(s) >= MIN_SECRET_LEN for v in _variants(s)}
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return redact_url(text)
