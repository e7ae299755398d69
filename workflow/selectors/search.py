"""Text search of instances by index: their title, process name and business key, segmented
by ``portal.search`` into the ``search`` column when the engine inserts the row (migration
0010 fills older rows and creates the index; 0011 stores it parsed on PostgreSQL).

A search is the tokens of what was typed, all required (``portal.search.query_terms``): a
one-character Chinese word is its character, a longer one its pairs of characters, so 票 and
差旅 find the titles that contain them, by index: on PostgreSQL the stored ``search_vector``
with its GIN index, on SQLite the FTS5 table ``workflow_instance_search``.
People's names are not in the column (an instance holds its initiator's user name; names
change): the inbox searches them separately (``portal.selectors.people_matching``).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Lookup, Q
from django.db.models.sql.compiler import SQLCompiler

from portal.search import fts5_query, query_terms, search_text, tsquery
from workflow.models import ProcessInstance

__all__ = ["instance_search_text", "instances_matching"]


def instance_search_text(*, title: str, process_name: str, business_key: str) -> str:
    """What the ``search`` column of an instance holds."""
    return search_text(title, process_name, business_key)


class SearchMatches(Lookup):
    """``search__matches="差旅 票"``: the instance's search text holds every word, tested
    on the instance row of the query itself (its table or its join's alias), so the planner
    may start from a person's few tasks and test each one's instance, or from the index.

    - PostgreSQL: the stored ``search_vector`` column (migration 0011) ``@@`` the words as a
      ``tsquery``, served by its GIN index;
    - SQLite: the instance's id among the rows the FTS5 table ``workflow_instance_search``
      finds (migration 0010).

    The words are a parameter, never SQL; text without a letter or digit matches nothing."""

    lookup_name = "matches"
    prepare_rhs = False

    def _column(self, compiler: SQLCompiler, name: str) -> str:
        alias = compiler.quote_name_unless_alias(self.lhs.alias)
        return f"{alias}.{compiler.connection.ops.quote_name(name)}"

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[str, ...]]:
        terms = query_terms(str(self.rhs))
        if not terms:
            return "1 = 0", ()
        return (
            f"{self._column(compiler, 'id')} IN (SELECT rowid FROM workflow_instance_search "  # noqa: S608  # a quoted column; the words are a parameter
            "WHERE workflow_instance_search MATCH %s)",
            (fts5_query(terms),),
        )

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[str, ...]]:
        terms = query_terms(str(self.rhs))
        if not terms:
            return "1 = 0", ()
        return (
            f"{self._column(compiler, 'search_vector')} @@ to_tsquery('simple'::regconfig, %s)",
            (tsquery(terms),),
        )


ProcessInstance._meta.get_field("search").register_lookup(SearchMatches)


def instances_matching(text: str, *, path: str = "") -> Q:
    """Rows whose instance's title, process name or business key contain every word of
    ``text`` (each part between spaces: 差旅, 票, VPN, FIN-007, ＶＰＮ), by index. ``path``
    leads to the instance: ``""`` on instances, ``"instance__"`` on tasks and copies."""
    return Q(**{f"{path}search__matches": text})
