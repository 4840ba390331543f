from __future__ import annotations

import sys

from django.test import RequestFactory

from config.reporting import AlwaysSafeExceptionReporterFilter


def test_error_reports_hide_secret_looking_post_fields_and_locals_even_in_debug():
    request = RequestFactory().post("/connections/new/", {"api_key": "hsp-live-123", "name": "Shop"})
    reporter = AlwaysSafeExceptionReporterFilter()
    params = reporter.get_post_parameters(request)
    assert params["api_key"] != "hsp-live-123" and params["name"] == "Shop"

    def failing() -> None:
        access_token = "pit-very-secret"  # noqa: F841
        raise RuntimeError("boom")

    try:
        failing()
    except RuntimeError:
        tb = sys.exc_info()[2]
        while tb.tb_next is not None:
            tb = tb.tb_next
        variables = dict(reporter.get_traceback_frame_variables(request, tb.tb_frame))
    assert variables["access_token"] != "pit-very-secret"
