"""Text search of instances by index: their title, process name and business key, segmented
by ``portal.search`` into the ``search`` column when the engine inserts the row (migration
0010 fills older rows and creates the index).

A search is the tokens of what was typed, all required (``portal.search.query_terms``): a
one-character Chinese word is its character, a longer one its pairs of characters, so 票 and
差旅 find the titles that contain them, by index: on PostgreSQL a GIN index on
``to_tsvector('simple', search)``, on SQLite the FTS5 table ``workflow_instance_search``.
People's names are not in the column (an instance holds its initiator's user name; names
change): the inbox searches them separately (``portal.selectors.people_matching``).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from portal.search import fts5_query, query_terms, search_text, tsquery

__all__ = ["instance_search_text", "instances_matching"]

# The expression of the GIN index ``instance_search`` (migration 0010), written the same way
# so that PostgreSQL's planner recognises it.
POSTGRESQL_MATCH = (
    "SELECT id FROM workflow_processinstance "
    "WHERE to_tsvector('simple'::regconfig, search) @@ to_tsquery('simple'::regconfig, %s)"
)
SQLITE_MATCH = "SELECT rowid FROM workflow_instance_search WHERE workflow_instance_search MATCH %s"


def instance_search_text(*, title: str, process_name: str, business_key: str) -> str:
    """What the ``search`` column of an instance holds."""
    return search_text(title, process_name, business_key)


def instances_matching(text: str, *, field: str = "pk") -> Q:
    """Rows whose instance's title, process name or business key contain every word of
    ``text`` (each part between spaces: 差旅, 票, VPN, FIN-007, ＶＰＮ), by index. ``field``
    names the instance: ``pk`` on instances, ``instance`` on tasks and copies. Text without
    a letter or digit matches nothing."""
    terms = query_terms(text)
    if not terms:
        return Q(**{f"{field}__in": []})
    if connection.vendor == "postgresql":
        ids = RawSQL(POSTGRESQL_MATCH, (tsquery(terms),))  # noqa: S611  # the query is a parameter
    else:
        ids = RawSQL(SQLITE_MATCH, (fts5_query(terms),))  # noqa: S611  # the query is a parameter
    return Q(**{f"{field}__in": ids})
