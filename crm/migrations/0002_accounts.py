"""Text search of accounts by index (issue 19): a ``search`` column holding the account's
name, code, credit code, city and its contacts' names segmented by ``portal.search``
(jieba), so that any word of a Chinese company name (华为, 科技) is found by index.

- PostgreSQL: a stored generated ``tsvector`` column ``search_vector`` with a GIN index
  (as the workflow's instances: ``workflow/migrations/0011_instance_search_vector.py``);
  the model does not declare it, ``crm.selectors.accounts`` names it;
- SQLite: an FTS5 table ``crm_account_search`` with the accounts as its external content,
  kept in step by three triggers (insert, delete, an update of ``search``). A later
  migration that makes SQLite rebuild ``crm_account`` (Django does for many column changes)
  drops these triggers with the old table: it must create them again
  (``tests/crm/test_accounts_search.py`` checks they exist).
"""

from django.db import migrations, models

FTS = "crm_account_search"
ACCOUNTS = "crm_account"

SQLITE_CREATE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5(search, content='{ACCOUNTS}', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_insert AFTER INSERT ON {ACCOUNTS} BEGIN "
    f"INSERT INTO {FTS}(rowid, search) VALUES (new.id, new.search); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_delete AFTER DELETE ON {ACCOUNTS} BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, search) VALUES ('delete', old.id, old.search); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_update AFTER UPDATE OF search ON {ACCOUNTS} BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, search) VALUES ('delete', old.id, old.search); "
    f"INSERT INTO {FTS}(rowid, search) VALUES (new.id, new.search); END",
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
)
SQLITE_DROP = (
    f"DROP TRIGGER IF EXISTS {FTS}_insert",
    f"DROP TRIGGER IF EXISTS {FTS}_delete",
    f"DROP TRIGGER IF EXISTS {FTS}_update",
    f"DROP TABLE IF EXISTS {FTS}",
)
PG_CREATE = (
    f"ALTER TABLE {ACCOUNTS} ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search)) STORED",
    f"CREATE INDEX IF NOT EXISTS crm_account_search_vector ON {ACCOUNTS} "
    "USING gin (search_vector)",
)
PG_DROP = (
    "DROP INDEX IF EXISTS crm_account_search_vector",
    f"ALTER TABLE {ACCOUNTS} DROP COLUMN IF EXISTS search_vector",
)


def add(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": PG_CREATE, "sqlite": SQLITE_CREATE}.get(vendor, ())
    for statement in statements:
        schema_editor.execute(statement)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": PG_DROP, "sqlite": SQLITE_DROP}.get(vendor, ())
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="account",
            name="search",
            field=models.TextField(blank=True, db_default="", default="", editable=False),
        ),
        migrations.RunPython(add, remove, elidable=False),
    ]
