"""Delivery to a provider on this machine's loopback, the way AlgaPSA's providers deliver.

The sandbox sends nothing off the machine: mail for any other host is only recorded. A provider whose
host (SMTP) or ``baseUrl`` (Resend) is loopback is a test double a fixture runs, and gets the real
conversation, so ``email.send``'s failure paths follow AlgaPSA's (contract §4.7):

- SMTP: a failed send is a result with ``success: false`` and the transport's message, which the action
  raises as ``TransientError`` ``TRANSIENT_FAILURE``;
- Resend: ``POST {baseUrl}/emails``; a 429 or 5xx is retried three times (1, 2, 4 s) and is then a
  retryable provider error (``TRANSIENT_FAILURE``); any other failure is not retryable
  (``ActionError`` ``INTERNAL_ERROR``), with AlgaPSA's message.
"""
from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlparse

import httpx

from ..runtime.run_errors import action_error
from .base import transient

LOOPBACK = ("127.0.0.1", "localhost", "::1")
TIMEOUT_S = 5.0
RESEND_RETRIES = 3
RESEND_BASE_DELAY_S = 1.0


def is_local(provider_type: str, options: dict[str, Any]) -> bool:
    """Whether the provider is a test double on loopback (the only kind the sandbox talks to)."""
    if provider_type == "smtp":
        return str(options.get("host")) in LOOPBACK
    base = options.get("baseUrl") or options.get("base_url")
    return provider_type == "resend" and isinstance(base, str) and urlparse(base).hostname in LOOPBACK


def _smtp_send(options: dict[str, Any], message: dict[str, Any]) -> None:
    mail = EmailMessage()
    mail["From"] = message["from"]["email"]
    mail["To"] = ", ".join(a["email"] for a in message["to"])
    mail["Subject"] = message["subject"]
    mail.set_content(message.get("text") or "")
    host, port = str(options["host"]), int(str(options["port"]))
    try:
        with smtplib.SMTP(host, port, timeout=TIMEOUT_S) as smtp:
            smtp.send_message(mail)
    except ConnectionRefusedError:
        raise OSError(f"connect ECONNREFUSED {host}:{port}") from None


async def deliver_smtp(options: dict[str, Any], message: dict[str, Any]) -> None:
    """Send through the SMTP server at ``options`` host/port; a failure is AlgaPSA's failed send result."""
    try:
        await asyncio.to_thread(_smtp_send, options, message)
    except (OSError, smtplib.SMTPException) as exc:
        raise transient("TRANSIENT_FAILURE", str(exc) or "Email send failed") from None


async def deliver_resend(options: dict[str, Any], message: dict[str, Any]) -> str:
    """``POST {baseUrl}/emails`` as AlgaPSA's Resend provider does; returns the provider's message id."""
    base = str(options.get("baseUrl") or options.get("base_url")).rstrip("/")
    key = options.get("apiKey") or options.get("api_key")
    body = {"from": message["from"]["email"], "to": [a["email"] for a in message["to"]],
            "subject": message["subject"], "html": message.get("html") or None, "text": message.get("text") or None}
    async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
        for attempt in range(RESEND_RETRIES + 1):
            status, detail = None, None
            try:
                response = await client.post(f"{base}/emails", json=body, headers={"Authorization": f"Bearer {key}"})
                if response.is_success:
                    return str(response.json().get("id"))
                status = response.status_code
                detail = _message(response)
            except httpx.HTTPError:
                pass
            retryable = status is not None and (status == 429 or status >= 500)
            if not retryable or attempt == RESEND_RETRIES:
                break
            await asyncio.sleep(RESEND_BASE_DELAY_S * 2 ** attempt)
    text = "Failed to send email after multiple attempts" + (f" (status {status})" if status else "") + \
        (f": {detail}" if detail else "")
    raise transient("TRANSIENT_FAILURE", text) if retryable else action_error("INTERNAL_ERROR", text)


def _message(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data.get("message") if isinstance(data, dict) and isinstance(data.get("message"), str) else None
