"""The admin API under ``/__paymock/`` and the rules of who may use the server."""

from __future__ import annotations

from mock_server.admin.guard import Guard
from mock_server.admin.routes import ADMIN, admin_blueprint

__all__ = ["ADMIN", "Guard", "admin_blueprint"]
