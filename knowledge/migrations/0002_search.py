"""Search of articles (issue 17, item 5): the table ``knowledge_articleindex`` (the published
version of each live article, segmented by ``portal.search``), then by hand what Django
cannot describe, one per database:

- PostgreSQL: two ``tsvector`` columns generated from the segmented text, each with a GIN
  index: ``head`` (the title weighted A, summary and tags B: small, what ranking reads) and
  ``document`` (title, summary, tags and body, without positions: what matching reads);
- SQLite: the FTS5 table ``knowledge_article_search`` over ``title_terms``,
  ``summary_terms`` and ``body_terms`` with the index as its external content, kept in step
  by three triggers. Tokens are whole (the text is segmented before), so no positions are
  kept (``detail=column``): what bm25 needs, which column a token is in, stays. A later
  migration that makes SQLite rebuild ``knowledge_articleindex`` drops these triggers with
  the old table and must create them again (``tests/knowledge/test_search.py`` checks).

The table starts empty: articles are indexed when published (``knowledge.search``).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEX = "knowledge_articleindex"
FTS = "knowledge_article_search"
COLUMNS = "title_terms, summary_terms, body_terms"

POSTGRESQL_CREATE = (
    f"ALTER TABLE {INDEX} ADD COLUMN head tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, title_terms), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, summary_terms), 'B')) STORED",
    f"ALTER TABLE {INDEX} ADD COLUMN document tsvector GENERATED ALWAYS AS (strip("
    "to_tsvector('simple'::regconfig, title_terms || ' ' || summary_terms || ' ' || body_terms)"
    ")) STORED",
    f"CREATE INDEX knowledge_index_head ON {INDEX} USING gin (head)",
    f"CREATE INDEX knowledge_index_document ON {INDEX} USING gin (document)",
)
POSTGRESQL_DROP = (
    "DROP INDEX IF EXISTS knowledge_index_document",
    "DROP INDEX IF EXISTS knowledge_index_head",
    f"ALTER TABLE {INDEX} DROP COLUMN IF EXISTS document",
    f"ALTER TABLE {INDEX} DROP COLUMN IF EXISTS head",
)
SQLITE_CREATE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5({COLUMNS}, content='{INDEX}', "
    "content_rowid='article_id', detail=column, tokenize='unicode61 remove_diacritics 0')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_insert AFTER INSERT ON {INDEX} BEGIN "  # noqa: S608  # constant table names
    f"INSERT INTO {FTS}(rowid, {COLUMNS}) "
    "VALUES (new.article_id, new.title_terms, new.summary_terms, new.body_terms); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_delete AFTER DELETE ON {INDEX} BEGIN "  # noqa: S608  # constant table names
    f"INSERT INTO {FTS}({FTS}, rowid, {COLUMNS}) "
    "VALUES ('delete', old.article_id, old.title_terms, old.summary_terms, old.body_terms); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_update AFTER UPDATE ON {INDEX} BEGIN "  # noqa: S608  # constant table names
    f"INSERT INTO {FTS}({FTS}, rowid, {COLUMNS}) "
    "VALUES ('delete', old.article_id, old.title_terms, old.summary_terms, old.body_terms); "
    f"INSERT INTO {FTS}(rowid, {COLUMNS}) "
    "VALUES (new.article_id, new.title_terms, new.summary_terms, new.body_terms); END",
)
SQLITE_DROP = (
    f"DROP TRIGGER IF EXISTS {FTS}_insert",
    f"DROP TRIGGER IF EXISTS {FTS}_delete",
    f"DROP TRIGGER IF EXISTS {FTS}_update",
    f"DROP TABLE IF EXISTS {FTS}",
)


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": POSTGRESQL_CREATE, "sqlite": SQLITE_CREATE}.get(vendor, ())
    for statement in statements:
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": POSTGRESQL_DROP, "sqlite": SQLITE_DROP}.get(vendor, ())
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ArticleIndex",
            fields=[
                (
                    "article",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_index",
                        serialize=False,
                        to="knowledge.article",
                    ),
                ),
                ("lang", models.CharField(max_length=8)),
                ("published_at", models.DateTimeField()),
                ("updated_at", models.DateTimeField()),
                ("title", models.CharField(max_length=200)),
                ("title_key", models.CharField(db_index=True, max_length=200)),
                ("summary", models.CharField(blank=True, max_length=500)),
                ("tags", models.CharField(blank=True, max_length=1000)),
                ("body_text", models.TextField(blank=True)),
                ("title_terms", models.TextField(blank=True)),
                ("summary_terms", models.TextField(blank=True)),
                ("body_terms", models.TextField(blank=True)),
                (
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "space",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="knowledge.space",
                    ),
                ),
            ],
            options={
                "verbose_name": "search index entry",
                "verbose_name_plural": "search index",
                "indexes": [
                    models.Index(fields=["space", "-published_at"], name="knowledge_index_space"),
                    models.Index(fields=["owner"], name="knowledge_index_owner"),
                    models.Index(fields=["published_at"], name="knowledge_index_published"),
                ],
            },
        ),
        migrations.RunPython(create, drop, elidable=False),
    ]
