"""The control plane: fault injection, the request journal and verification.

``faults`` (effects), ``delays`` and ``schedules`` (their registries), ``rules`` (what a rule
matches, validated whole), ``state`` (the shared state's interface; its SQLite implementation,
the feature's only SQL, is :mod:`mock_server.store.sqlite.control`), ``journal`` (entries,
masked), ``verification`` (counts and near misses) and ``plane`` (what a request consults).
"""
