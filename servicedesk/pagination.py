"""One page of a list query and the total behind it: two SQL statements whatever the size."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import ceil
from typing import Any, Generic, TypeVar

from sqlalchemy import CompoundSelect, Integer, Row, Select, func, inspect, literal_column, select, union_all

from servicedesk.extensions import db

Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(statement: Select[Any], page: int, per_page: int, *,
             read_with: Callable[[int], Select[Any]] | None = None,
             counted: Select[tuple[int]] | None = None, ids_first: bool = False,
             read_whole: Select[Any] | None = None) -> Page[Any]:
    """The page of the statement's rows and their total. `read_with`, given the total, returns the
    statement to read the page with: the same rows, perhaps read another way for a large total.
    `counted` tells the total where the caller knows it more cheaply than by counting the rows.
    `ids_first` reads the page as `ids_first_of` does, with `read_whole` if given (the page's items
    are then its rows, not objects)."""
    page = max(page, 1)
    total = db.session.scalar(counted if counted is not None else count_of(statement)) or 0
    offset = (page - 1) * per_page
    if offset and offset >= total:  # past the end: nothing to read (and an offset no database takes)
        return Page(items=[], total=total, page=page, per_page=per_page)
    if read_with is not None:
        statement = read_with(total)
    if ids_first:
        statement = ids_first_of(statement, per_page, offset, read_whole)
    else:
        statement = window_of(statement, per_page, offset)
    result = db.session.execute(statement)
    items = list(result.all() if read_whole is not None else result.scalars())
    return Page(items=items, total=total, page=page, per_page=per_page)


def ids_first_of(statement: Select[Any], limit: int, offset: int = 0,
                 read_whole: Select[Any] | None = None) -> Select[Any]:
    """The statement's rows from `offset` to `offset + limit`, chosen by their ids alone and only
    then read whole: `WHERE id IN (SELECT id ... ORDER BY ... LIMIT n)`. Choosing and sorting ids
    reads an index where one covers the conditions and the order, where choosing whole rows read
    and sorted every matching row (the 1,300 overdue demands of a year, with their descriptions, for
    a page of 20). For a statement of one mapped entity, ordered by columns of its own table. The
    rows are read whole by `read_whole` (a SELECT of that entity's table and what it joins) when
    given, else as the entity with the statement's loader options."""
    entity = statement.column_descriptions[0]["entity"]
    key = inspect(entity).primary_key[0]
    ids = window_of(statement.with_only_columns(key, maintain_column_froms=True), limit, offset)
    if read_whole is not None:
        return read_whole.where(key.in_(ids)).order_by(*statement._order_by_clauses)
    whole = select(entity).where(key.in_(ids)).order_by(*statement._order_by_clauses)
    return whole.options(*statement._with_options)


def window_of(statement: Select[Any], limit: int, offset: int) -> Select[Any]:
    """The statement's rows from `offset` to `offset + limit`, both numbers written into its SQL:
    PostgreSQL plans a statement whose LIMIT is a parameter as if it read a tenth of its rows, and so
    never keeps a plan for it, planning a list's page anew on every request."""
    return statement.limit(literal_column(str(int(limit)))).offset(literal_column(str(int(offset))))


def first_rows_of_each(statements: Sequence[Select[Any]], limit: int,
                       read_whole: Select[Any]) -> CompoundSelect[Any]:
    """One statement for the first `limit` rows of each statement, in each one's order (read by
    rows_of_each): each statement's rows chosen by ids first (ids_first_of) and read by
    `read_whole`, numbered in its order, the lot joined by UNION ALL. One statement rather than one
    per list (a queue's sections) spares each list's round trip and execution."""
    members = []
    for number, statement in enumerate(statements):
        chosen = ids_first_of(statement, limit, read_whole=read_whole)
        position = func.row_number().over(order_by=chosen._order_by_clauses)
        # the list's number written into the SQL, like the window: a statement of the desk's own
        # values alone is one whose plan PostgreSQL keeps
        list_number = literal_column(str(number), Integer).label("list_number")
        members.append(chosen.order_by(None).add_columns(list_number, position.label("list_position")))
    return union_all(*members).order_by("list_number", "list_position")


def rows_of_each(statement: CompoundSelect[Any], lists: int) -> list[list[Row[Any]]]:
    """The rows of a first_rows_of_each statement of `lists` statements, list by list."""
    rows: list[list[Row[Any]]] = [[] for _ in range(lists)]
    for row in db.session.execute(statement):
        rows[row.list_number].append(row)
    return rows


def count_of(statement: Select[Any]) -> Select[tuple[int]]:
    """The number of rows the statement gives, as `SELECT count(*) FROM <its tables> WHERE <its
    conditions>`: selecting no column lets the database count an index instead of reading every row
    (wrapping the whole SELECT in a subquery made SQLite read the table). A DISTINCT, GROUP BY or
    LIMIT changes what one row is, so such a statement is counted as a subquery."""
    if statement._distinct or statement._group_by_clauses or statement._limit_clause is not None:
        return select(func.count()).select_from(statement.order_by(None).subquery())
    return statement.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
