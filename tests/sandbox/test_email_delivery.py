"""A provider on loopback really gets the message, and its failures map as AlgaPSA's providers map them."""
from __future__ import annotations

import asyncio

import pytest

from harness.domain.provider_doubles import ProviderApi, closed_port, failing_api
from harness.sandbox.actions import email_delivery
from harness.sandbox.runtime.run_errors import RuntimeFailure

MESSAGE = {"from": {"email": "no-reply@example.com"}, "to": [{"email": "a@example.com"}], "subject": "s", "text": "t"}


def test_only_loopback_providers_are_sent_to() -> None:
    assert email_delivery.is_local("smtp", {"host": "127.0.0.1"})
    assert not email_delivery.is_local("smtp", {"host": "imap-test-server"})
    assert email_delivery.is_local("resend", {"baseUrl": "http://localhost:9999"})
    assert not email_delivery.is_local("resend", {"apiKey": "re_x"}), "Resend's own API is never called"


def test_a_refused_smtp_connection_is_a_transient_failure() -> None:
    port = closed_port()
    with pytest.raises(RuntimeFailure) as failure:
        asyncio.run(email_delivery.deliver_smtp({"host": "127.0.0.1", "port": port}, MESSAGE))
    assert (failure.value.category, failure.value.code) == ("TransientError", "TRANSIENT_FAILURE")
    assert failure.value.message == f"connect ECONNREFUSED 127.0.0.1:{port}"


def test_resend_rejections_are_internal_errors_and_429_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(email_delivery, "RESEND_BASE_DELAY_S", 0.0)
    rejecting, limited = failing_api(422, "Invalid `to` field"), failing_api(429, "Too many requests")
    try:
        with pytest.raises(RuntimeFailure) as rejected:
            asyncio.run(email_delivery.deliver_resend({"baseUrl": rejecting.base_url, "apiKey": "k"}, MESSAGE))
        assert (rejected.value.code, rejected.value.message) == (
            "INTERNAL_ERROR", "Failed to send email after multiple attempts (status 422): Invalid `to` field")
        assert len(rejecting.requests) == 1, "a 4xx other than 429 is not retried"
        with pytest.raises(RuntimeFailure) as throttled:
            asyncio.run(email_delivery.deliver_resend({"baseUrl": limited.base_url, "apiKey": "k"}, MESSAGE))
        assert (throttled.value.category, throttled.value.code) == ("TransientError", "TRANSIENT_FAILURE")
        assert len(limited.requests) == 1 + email_delivery.RESEND_RETRIES
    finally:
        rejecting.close()
        limited.close()


def test_an_accepting_resend_api_gets_the_message_and_its_id_comes_back() -> None:
    api = ProviderApi(200, {"id": "msg-1"})
    try:
        assert asyncio.run(email_delivery.deliver_resend({"baseUrl": api.base_url, "apiKey": "k"}, MESSAGE)) == "msg-1"
        assert api.requests == [{"from": "no-reply@example.com", "to": ["a@example.com"], "subject": "s", "html": None,
                                 "text": "t"}]
    finally:
        api.close()
