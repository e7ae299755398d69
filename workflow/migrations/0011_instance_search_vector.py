"""The instances' search text as a stored ``tsvector`` on PostgreSQL (issue 16).

Migration 0010 indexed ``to_tsvector('simple', search)`` as an expression. The inbox asks
"which of *my* tasks' instances match" — a few hundred to a few thousand rows, each joined by
primary key — and with an expression index PostgreSQL either parsed every such row's text
again (about 80 µs a row) or read every matching instance of the whole table first (tens of
thousands for a common word). A stored generated column is parsed once, when the row is
written; the GIN index moves onto it, so the console's search over all instances still
finds its rows by index. SQLite keeps its FTS5 table (0010); nothing changes there.

The column is the database's own: the model does not declare it, inserts leave it to the
database, and ``workflow.selectors.search`` names it.
"""

from django.db import migrations

ADD = (
    "ALTER TABLE workflow_processinstance ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search)) STORED",
    "CREATE INDEX IF NOT EXISTS instance_search_vector ON workflow_processinstance "
    "USING gin (search_vector)",
    "DROP INDEX IF EXISTS instance_search",
)
REMOVE = (
    "CREATE INDEX IF NOT EXISTS instance_search ON workflow_processinstance "
    "USING gin (to_tsvector('simple'::regconfig, search))",
    "DROP INDEX IF EXISTS instance_search_vector",
    "ALTER TABLE workflow_processinstance DROP COLUMN IF EXISTS search_vector",
)


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in ADD:
            schema_editor.execute(statement)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in REMOVE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0010_instance_search"),
    ]

    operations = [migrations.RunPython(add, remove, elidable=False)]
