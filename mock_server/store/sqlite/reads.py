"""The SQLite store's reads: list pages (keyset and offset), counts, lookups and samples.

A mixin of :class:`~mock_server.store.sqlite.base.SQLiteStore`, which holds the connections, the
metadata and the writes; the reads are here because they are the half that chooses plans: the
index a filtered list reads (counts weighed against the order), and the cached ordering that
deep offset pages are sliced from.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import orjson

from mock_server.store.base import CREATION, Condition, SortKey
from mock_server.store.counts import CountCache
from mock_server.store.orders import MAX_SQL_INT, OrderCache
from mock_server.store.page import PK, Page, Row
from mock_server.store.sqlite import sql

#: Offsets from which pages are sliced from a cached ordering (see SQLiteReads._deep_page).
DEEP_OFFSET = 10_000
#: Rows :meth:`SQLiteReads.sample` reads at most.
SAMPLE_ROWS = 5000


class SQLiteReads:
    """The read half of the SQLite store (see the module's docstring)."""

    _counts: CountCache
    _indexes: dict[tuple[str, int], list[tuple[str, tuple[str, ...]]]]
    _orders: OrderCache

    if TYPE_CHECKING:  # provided by SQLiteStore

        def reading(self) -> AbstractContextManager[sqlite3.Connection]:
            """A connection for reads."""

        def generation(self, table: str) -> int:
            """The table's generation."""

    def select(
        self,
        table: str,
        tenant: int,
        conditions: Sequence[Condition],
        order: Sequence[SortKey],
        limit: int | None,
        offset: int = 0,
        after: tuple[Row, bool] | None = None,
        reverse: bool = False,
    ) -> list[Row]:
        """Rows of one tenant that meet every condition, in ``order`` (see :meth:`BaseStore.select`)."""
        query = self._listing(table, tenant, conditions, order, limit, offset, after, reverse)
        if isinstance(query, list):
            return query
        text, args = query
        with self.reading() as db:
            rows: list[Row] = db.execute(text, args).fetchall()
        return rows

    def page(
        self,
        table: str,
        tenant: int,
        conditions: Sequence[Condition],
        order: Sequence[SortKey],
        limit: int | None,
        offset: int = 0,
        after: tuple[Row, bool] | None = None,
        reverse: bool = False,
        *,
        ids: bool = False,
        documents: bool = True,
        generation: bool = False,
    ) -> Page:
        """The records :meth:`select` gives, as one :class:`Page` read in one step.

        SQLite joins the documents itself and hands over a single row instead of one per record
        (each a tuple, a bytes object and a step that lets go of the interpreter lock, which the
        other threads of a worker then contend for). ``ids`` reads the records' IDs too;
        ``documents=False`` reads none of their documents; ``generation`` reads the table's
        generation in the same statement (an offset page's count needs it: one statement, not two).
        """
        query = self._listing(table, tenant, conditions, order, limit, offset, after, reverse, documents)
        if isinstance(query, list):
            return Page.of(query, ids)
        text, args = query
        # The subquery keeps its ORDER BY because it has a LIMIT (an unlimited page asks for
        # LIMIT -1): SQLite feeds its rows to the aggregates in that order (a test compares every
        # shape of page with select()'s rows).
        id_list = "json_group_array(id)" if ids else "NULL"
        docs = "CAST(group_concat(doc, char(30)) AS BLOB)" if documents else "NULL"
        read, first = (
            ("(SELECT value FROM meta WHERE key = ?)", (f"generation:{table}",)) if generation else ("NULL", ())
        )
        with self.reading() as db:
            count, listed, joined, seen = db.execute(
                f"SELECT count(*), {id_list}, {docs}, {read} FROM ({text})", first + args
            ).fetchone()
        # No document holds the separator (see :data:`~mock_server.store.page.SEP`): not counted here.
        at = (int(seen) if seen is not None else 0) if generation else None
        return Page(count, orjson.loads(listed) if ids else [], joined or b"", generation=at)

    def _listing(
        self,
        table: str,
        tenant: int,
        conditions: Sequence[Condition],
        order: Sequence[SortKey],
        limit: int | None,
        offset: int,
        after: tuple[Row, bool] | None,
        reverse: bool,
        documents: bool = True,
    ) -> tuple[str, tuple[Any, ...]] | list[Row]:
        """The SQL of a list query (see :meth:`select`), or its rows when a deep page is sliced from a cache."""
        full = sql.full_order(order)
        where, args = sql.where(conditions)
        if after is None and not reverse and limit is not None and offset >= DEEP_OFFSET:
            return self._deep_page(table, tenant, where, args, order, limit, offset)
        if after is not None:
            anchor, inclusive = after
            fixed = {c.column: c.value for c in conditions if c.fixes is not None}
            kw, kargs = sql.keyset(full, anchor, inclusive, reverse, fixed)
            where += f" AND ({kw})"
            args += kargs
        order_sql = sql.order_by([(col, desc != reverse) for col, desc in full])
        keys = sql.keys(order)
        # Joined, the document costs least per returned row; but rows that OFFSET skips would be
        # joined too, so offset pages read each document in a subquery of the rows they return.
        joined = documents and offset == 0
        rows = sql.rows(table, tenant)
        index = self._index_for(table, tenant, conditions, order, limit)
        read = f'{rows} INDEXED BY "{index}"' if index is not None else rows
        source = f'{read} JOIN "d_{table}" USING (pk)' if joined else read
        doc = "doc" if joined else f"{sql.doc_subquery(table, rows)} AS doc" if documents else "NULL AS doc"
        query = f"SELECT pk, id, {doc}{keys} FROM {source} WHERE {where} ORDER BY {order_sql} LIMIT ? OFFSET ?"
        # Any integer is a valid offset; past SQLite's 64-bit range the page is simply empty.
        args += (-1 if limit is None else min(limit, MAX_SQL_INT), min(offset, MAX_SQL_INT))
        return query, args

    def _index_for(
        self, table: str, tenant: int, conditions: Sequence[Condition], order: Sequence[SortKey], limit: int | None
    ) -> str | None:
        """The index a filtered list reads, chosen here rather than by SQLite's statistics; ``None``: SQLite's choice.

        With a filter holding a column to one value, the page is read either through that
        column's index (its matches come in creation order; another order sorts them) or by
        walking the order's index and skipping the rows that fail. Which is cheaper depends on
        how many rows hold the value, and SQLite's statistics know only a column's average: left
        to them, it sorted the 30 % of payments with ``appliedAmount=0`` for every page, and it
        walked the whole table, checking each row, for a value the statistics said every row
        holds (a value only a state change can give is then found at the end of the walk).
        Here the count of matches decides: walk the order when ``matches * matches > limit *
        rows``, that is when reading about ``limit * rows / matches`` entries of the walk costs
        less than sorting ``matches`` rows. An index that holds the filtered column and then the
        order needs no weighing. The choice needs only the counts' size, so it takes them from
        :meth:`estimate` (counted again only when writes may have moved them by a sixteenth).
        """
        held = [c.fixes for c in conditions if c.fixes is not None]
        if not held:
            return None
        indexes = self._indexes_of(table, tenant)
        keys = [col for col, _ in order if col not in held and col != CREATION]
        filters = []
        for name, columns in indexes:
            if columns[0] in held:
                if list(columns[1 : 1 + len(keys)]) == keys:
                    return name  # the filter's matches in the order: nothing to weigh
                filters.append(name)
        if not filters:
            return None
        walks = [name for name, columns in indexes if keys and list(columns[: len(keys)]) == keys]
        if not walks or limit is None:
            return filters[0]
        matches, rows = self.estimate(table, tenant, conditions), self.estimate(table, tenant, [])
        return walks[0] if matches * matches > limit * rows else filters[0]

    def _indexes_of(self, table: str, tenant: int) -> list[tuple[str, tuple[str, ...]]]:
        """The indexes of a tenant's rows, each with its columns (read once per table)."""
        key = (table, tenant)
        found = self._indexes.get(key)
        if found is None:
            found = []
            with self.reading() as db:
                for _, name, *_ in db.execute(f"PRAGMA index_list({sql.rows(table, tenant)})").fetchall():
                    info = db.execute(f'PRAGMA index_info("{name}")').fetchall()
                    columns = tuple(sql.column_name(r[2]) for r in sorted(info))
                    found.append((name, columns))
            self._indexes[key] = found
        return found

    def count(self, table: str, tenant: int, conditions: Sequence[Condition], generation: int | None = None) -> int:
        """How many rows of a tenant meet every condition (cached until the next write; see :meth:`BaseStore.count`)."""
        where, args = sql.where(conditions)

        def read() -> int:
            with self.reading() as db:
                return int(
                    db.execute(f"SELECT count(*) FROM {sql.rows(table, tenant)} WHERE {where}", args).fetchone()[0]
                )

        at = self.generation(table) if generation is None else generation
        return self._counts.count((table, tenant, where, args), at, read)

    def estimate(self, table: str, tenant: int, conditions: Sequence[Condition]) -> int:
        """:meth:`count`, within a sixteenth: a count cached before writes that changed fewer rows.

        The generation advances by the rows each commit changed (:meth:`bump`), so a count made
        ``n`` generations ago is off by ``n`` at most. Counting the matches of a broad filter
        over a million rows takes ~60 ms; without this every write made the next list that
        weighs its plan pay for it again, in every serving process.
        """
        where, args = sql.where(conditions)
        near = self._counts.near((table, tenant, where, args), lambda: self.generation(table))
        return self.count(table, tenant, conditions) if near is None else near

    def _deep_page(
        self,
        table: str,
        tenant: int,
        where: str,
        args: tuple[Any, ...],
        order: Sequence[SortKey],
        limit: int,
        offset: int,
    ) -> list[Row]:
        # SQLite has no order statistics: OFFSET n steps over n index entries. Past DEEP_OFFSET,
        # the ordered keys of this query are read once per write generation and pages are sliced
        # from them, so page 900,000 costs what page 1 does (after the first).
        rows = sql.rows(table, tenant)

        def read() -> array[int]:
            # This scan reads every matching row anyway: with a filter, let SQLite narrow through
            # the filter's index and sort, instead of walking the sort index and visiting each row
            # to test the filter (unary + keeps an ORDER BY column from choosing the index).
            hint = "+" if where != "1" else ""
            order_sql = sql.order_by(sql.full_order(order), hint)
            with self.reading() as db:
                found = db.execute(f"SELECT pk FROM {rows} WHERE {where} ORDER BY {order_sql}", args)
                return array("q", (r[0] for r in found))

        shape = (table, tenant, where, args, tuple(order))
        wanted = self._orders.slice(shape, self.generation(table), read, offset, limit)
        if not wanted:
            return []
        keys = sql.keys(order)
        marks = ", ".join("?" * len(wanted))
        with self.reading() as db:
            found = {
                r[PK]: r
                for r in db.execute(
                    f'SELECT pk, id, doc{keys} FROM {rows} JOIN "d_{table}" USING (pk) WHERE pk IN ({marks})',
                    tuple(wanted),
                )
            }
        return [found[pk] for pk in wanted if pk in found]

    def find(self, table: str, tenant: int, id_: str, order: Sequence[SortKey] = ()) -> Row | None:
        """The row of a tenant with this id, with its sort-key values for ``order``."""
        with self.reading() as db:
            r = db.execute(
                f'SELECT pk, id, doc{sql.keys(order)} FROM {sql.rows(table, tenant)} JOIN "d_{table}" USING (pk)'
                " WHERE id = ?",
                (id_,),
            ).fetchone()
        return None if r is None else tuple(r)

    def sample(self, table: str, tenant: int, column: str, n: int) -> list[Any]:
        """Up to ``n`` distinct values of a column for one tenant, from its newest records.

        Only the newest :data:`SAMPLE_ROWS` rows are read (backwards in creation order), so the
        banner and ``/__paymock/samples`` cost the same over a million payments as over a hundred.
        """
        col = sql.column(column)
        with self.reading() as db:
            query = (
                f"SELECT {col} FROM {sql.rows(table, tenant)} NOT INDEXED WHERE {col} IS NOT NULL"
                " ORDER BY pk DESC LIMIT ?"
            )
            values = dict.fromkeys(r[0] for r in db.execute(query, (SAMPLE_ROWS,)))
        return list(values)[:n]

    def exists(self, table: str, tenant: int, column: str, value: Any) -> bool:
        """Whether any row of a tenant has ``column = value``."""
        with self.reading() as db:
            query = f"SELECT 1 FROM {sql.rows(table, tenant)} WHERE {sql.column(column)} = ? LIMIT 1"
            return db.execute(query, (value,)).fetchone() is not None
