"""The PostgreSQL backend: several ``paymock serve`` replicas sharing one state (psycopg 3).

Installed with the ``postgresql`` extra (``pip install 'paymock[postgresql]'``).
"""

from __future__ import annotations

from mock_server.store.postgresql.base import PostgreSQLStore

__all__ = ["PostgreSQLStore"]
