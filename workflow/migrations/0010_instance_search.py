"""Text search of instances by index (issue 16): a ``search`` column holding the title,
process name and business key segmented by ``portal.search`` (jieba), so that a one- or
two-character Chinese word, which trigrams cannot serve, is found by index.

- PostgreSQL: a GIN index on ``to_tsvector('simple'::regconfig, search)``, the expression
  ``workflow.selectors.search`` queries;
- SQLite: an FTS5 table ``workflow_instance_search`` with the instances as its external
  content, kept in step by three triggers (insert, delete, an update of ``search``). A later
  migration that makes SQLite rebuild ``workflow_processinstance`` (Django does for many
  column changes) drops these triggers with the old table: it must create them again
  (``tests/workflow/test_instance_search.py`` checks they exist).

Existing rows are filled in batches, then the SQLite table is rebuilt from them.
"""

from django.db import migrations, models

from portal.search import search_text

BATCH = 2000

FTS = "workflow_instance_search"
INSTANCES = "workflow_processinstance"
PG_INDEX = "instance_search"

SQLITE_CREATE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5(search, content='{INSTANCES}', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_insert AFTER INSERT ON {INSTANCES} BEGIN "
    f"INSERT INTO {FTS}(rowid, search) VALUES (new.id, new.search); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_delete AFTER DELETE ON {INSTANCES} BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, search) VALUES ('delete', old.id, old.search); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_update AFTER UPDATE OF search ON {INSTANCES} BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, search) VALUES ('delete', old.id, old.search); "
    f"INSERT INTO {FTS}(rowid, search) VALUES (new.id, new.search); END",
)
SQLITE_DROP = (
    f"DROP TRIGGER IF EXISTS {FTS}_insert",
    f"DROP TRIGGER IF EXISTS {FTS}_delete",
    f"DROP TRIGGER IF EXISTS {FTS}_update",
    f"DROP TABLE IF EXISTS {FTS}",
)


def fill(apps, schema_editor):
    """Segment every instance's title, process name and business key, a batch at a time,
    then build the index from them."""
    instance_model = apps.get_model("workflow", "ProcessInstance")
    rows = instance_model.objects.using(schema_editor.connection.alias)
    last = 0
    while True:
        batch = list(
            rows.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "title", "definition__name", "business_key")[:BATCH]
        )
        if not batch:
            break
        changed = [
            instance_model(pk=pk, search=search_text(title, name, business_key))
            for pk, title, name, business_key in batch
        ]
        rows.bulk_update(changed, ["search"])
        last = batch[-1][0]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON {INSTANCES} "
            "USING gin (to_tsvector('simple'::regconfig, search))"
        )
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement)
        schema_editor.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def unfill(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0009_history_handed_by"),
    ]

    operations = [
        migrations.AddField(
            model_name="processinstance",
            name="search",
            field=models.TextField(
                blank=True, db_default="", default="", verbose_name="search text"
            ),
        ),
        migrations.RunPython(fill, unfill, elidable=False),
    ]
