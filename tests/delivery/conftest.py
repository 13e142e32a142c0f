"""The loopback SMTP and HTTP servers of the notifier tests, shared with the delivery tests."""

from __future__ import annotations

from tests.adapters.conftest import http_server, smtp_server, smtp_server_factory

__all__ = ["http_server", "smtp_server", "smtp_server_factory"]
