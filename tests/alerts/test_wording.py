"""Alert titles in words, with the raw error kept underneath (alerts.wording, pure)."""

from __future__ import annotations

import pytest

from contacts_sync.alerts.wording import TITLE_REASON_MAX, headline, plain_reason

CONNECTION_REFUSED = (
    "Reading hubstaff failed: TransportError: could not connect: HTTPConnectionPool(host='127.0.0.1', port=8010): "
    "Max retries exceeded with url: /v2/organizations/1002/clients (Caused by NewConnectionError('<urllib3."
    "connection.HTTPConnection object at 0x7f3a>: Failed to establish a new connection: [Errno 111] Connection "
    "refused'))"
)


def test_a_connection_error_becomes_words_and_the_raw_text_stays_as_detail():
    h = headline(
        name="Hubstaff clients → GHL contacts", new_status="failing", reason=CONNECTION_REFUSED, app="HighLevel"
    )
    assert h.title == "Hubstaff clients → GHL contacts is failing: Hubstaff could not be reached"
    assert "HTTPConnectionPool" not in h.title and h.detail == CONNECTION_REFUSED


@pytest.mark.parametrize(
    "reason,words",
    [
        (
            "ServerError: HighLevel answered 503 Service Unavailable on POST /contacts/upsert after 4 attempts",
            "HighLevel answered with server errors (HTTP 503)",
        ),
        ("invalid_grant: refresh token revoked", "HighLevel refused the stored credentials"),
        ("AuthError: HTTP 401 Unauthorized", "HighLevel refused the credentials"),
        ("RateLimitedError: 429 after 5 attempts", "HighLevel is rate-limiting the requests"),
        ("TransportError: timed out after 30s", "HighLevel did not answer in time"),
        ("Internal error: KeyError: 'id'", "an internal error stopped the run"),
        ("Every record failed (12). Errors: ValidationError x12", "every record failed (12)"),
        ("10 of 100 items failed (10%)", "10 of 100 items failed (10%)"),
        (
            "outage: 3 records were not written (HighLevel answered with server errors, timeouts or rate limits); they "
            "are retried by the next run",
            "3 records were not written (HighLevel answered with server errors, timeouts or rate limits)",
        ),
        ("ZeroDivisionError: division by zero", "stopped by an error (see the details)"),
    ],
)
def test_known_errors_read_as_what_they_mean(reason: str, words: str):
    assert plain_reason(reason, app="HighLevel") == words


def test_our_own_sentences_need_no_detail_line():
    h = headline(name="S", new_status="degraded", reason="6 of 50 items failed (12%)")
    assert (h.title, h.detail) == ("S is degraded: 6 of 50 items failed (12%)", "")


def test_a_connection_that_lost_its_consent_says_what_to_do():
    h = headline(name="Acme GHL", new_status="needs_reauth", reason="invalid_grant", app="HighLevel")
    assert h.title == "Acme GHL needs to be connected again: HighLevel refused the stored credentials"


def test_an_unknown_long_reason_is_cut_in_the_title_but_kept_whole_in_the_detail():
    reason = "the target said " + "x" * 400
    h = headline(name="S", new_status="failing", reason=reason)
    assert len(h.title) <= len("S is failing: ") + TITLE_REASON_MAX and h.title.endswith("…")
    assert h.detail == reason


def test_no_reason_gives_a_title_without_a_colon():
    assert headline(name="S", new_status="stale", reason="").title == "S has not synced for too long"
