from __future__ import annotations

from typing import Any

from django.views.debug import SafeExceptionReporterFilter


class AlwaysSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Scrub secrets from error reports even with DEBUG on (the demo runs so).

    Besides Django's own rules (settings, views marked sensitive), any POST field or local variable whose
    name looks like a secret (token, key, secret, password, ...) is replaced.
    """

    def is_active(self, request: Any) -> bool:
        return True

    def get_post_parameters(self, request: Any) -> Any:
        params = super().get_post_parameters(request)
        if request is None or not params:
            return params
        cleansed = params.copy()
        for name in list(cleansed.keys()):
            if self.hidden_settings.search(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        return [
            (name, self.cleansed_substitute if self.hidden_settings.search(name) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]
