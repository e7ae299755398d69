"""Indexes the inbox, its API and the monitoring console need at scale (bench/inbox_scale.py:
200,000 instances, about 1,000,000 tasks).

- ``instance_started`` (started_at, id): the console's instance list and the API's, newest
  first, and their keyset pages, without sorting every instance;
- ``instance_state_started``: the same of one state (running, suspended ...);
- ``task_done_by_completion`` (completed_by, completed_at) with ``definition_key``
  included, instead of the same index without it: the page's 已办 tab, and the processes of
  a person's latest 500 completed tasks (the inbox's process filter) read from the index
  alone rather than 500 rows scattered over the table;
- ``task_done_by_arrival`` (completed_by, created_at): the API's done tab, which orders by
  arrival like its other tabs;
- ``candidate_lookup`` (kind, value, task_id) instead of (kind, value): a role's candidate
  rows (kept after completion, so tens of thousands for a busy role) are read from the index
  alone; ``candidate_of_task`` (task_id, kind, value): the other way round, each open
  unclaimed task probed once for the person's candidacy, from the index alone;
- on PostgreSQL, trigram indexes (``pg_trgm``) on ``UPPER(title)`` and ``UPPER(business_key)``
  of instances, the expressions Django's ``icontains`` compares: the console's search for a
  business key or a word of three characters or more finds its rows without reading every
  instance. (Trigrams cannot serve a search of one or two characters, such as most Chinese
  words; those fall back to the other plans.)
"""

from django.db import migrations, models

TRIGRAM_INDEXES = (
    ("instance_title_trgm", "title"),
    ("instance_business_key_trgm", "business_key"),
)


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON workflow_processinstance "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _column in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0006_copy_by_user_and_date"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="taskcandidate",
            name="workflow_ta_kind_6dc5a5_idx",
        ),
        migrations.AddIndex(
            model_name="processinstance",
            index=models.Index(fields=["started_at", "id"], name="instance_started"),
        ),
        migrations.AddIndex(
            model_name="processinstance",
            index=models.Index(fields=["state", "started_at"], name="instance_state_started"),
        ),
        migrations.RemoveIndex(
            model_name="task",
            name="workflow_ta_complet_4d58ae_idx",
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                fields=["completed_by", "completed_at"],
                include=("definition_key",),
                name="task_done_by_completion",
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(fields=["completed_by", "created_at"], name="task_done_by_arrival"),
        ),
        migrations.AddIndex(
            model_name="taskcandidate",
            index=models.Index(fields=["kind", "value", "task"], name="candidate_lookup"),
        ),
        migrations.AddIndex(
            model_name="taskcandidate",
            index=models.Index(fields=["task", "kind", "value"], name="candidate_of_task"),
        ),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
