"""``field__among=values``: the column is one of ``values``, given to the database as ONE
parameter, where Django's ``__in`` writes a placeholder per value.

A page that names the tasks a person may claim (up to a thousand ids, in the list's two
windows and the tab counts) sent statements of 1,400 placeholders: each a new text for the
database to parse and plan, none of them prepared twice, and psycopg rewrote each one's
placeholders without its cache (statements over 4 KiB): 4 ms of a worker's CPU a page at
1M tasks (issue 16). With one parameter the statement is the same text whatever the
values, short, and prepared once per connection.

- PostgreSQL: ``column = ANY(%s)``, the values as an array (an index scan on the column,
  as ``IN`` has);
- SQLite: ``column IN (SELECT value FROM json_each(%s))``, the values as a JSON array.

No values: no row, as ``__in=[]`` (the query is not run: ``EmptyResultSet``).

``values`` is any iterable. Integers for an integer column (ids) are passed on as they are,
not converted one by one. Pass a frozenset (or another iterable that is not a list or a
tuple) where the values are many: Django looks into a list or tuple value for expressions,
a call per value before the lookup sees it (1,400 calls for the reviewer's 708 ids).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, ForeignObject, IntegerField, Lookup
from django.db.models.sql.compiler import SQLCompiler


class Among(Lookup):
    lookup_name = "among"
    prepare_rhs = False

    def get_prep_lookup(self) -> list[Any]:
        values = list(self.rhs)
        if self._integers(values):
            return values
        field = self.lhs.output_field
        return [field.get_prep_value(value) for value in values]

    def _integers(self, values: list[Any]) -> bool:
        """Whether ``values`` are ints for an integer column: nothing to convert."""
        field = self.lhs.output_field
        column = getattr(field, "target_field", field)  # a foreign key: the key it refers to
        return isinstance(column, IntegerField) and all(type(value) is int for value in values)

    def _values(self, connection: BaseDatabaseWrapper) -> list[Any]:
        values: list[Any] = self.rhs
        if not values:
            raise EmptyResultSet
        if self._integers(values):
            return values
        field = self.lhs.output_field
        return [field.get_db_prep_value(value, connection, prepared=True) for value in values]

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        column, params = self.process_lhs(compiler, connection)
        values = json.dumps(self._values(connection))
        return f"{column} IN (SELECT value FROM json_each(%s))", (*params, values)  # noqa: S608  # a compiled column; the values are a parameter

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        column, params = self.process_lhs(compiler, connection)
        return f"{column} = ANY(%s)", (*params, self._values(connection))


# every field; a foreign key's lookups are its own (Django stops their lookup at ForeignObject)
Field.register_lookup(Among)
ForeignObject.register_lookup(Among)
