"""A candidate row says whether its task is on offer (``offered``: open and held by nobody),
with a partial index of the rows on offer (issue 16, the inbox at 1M tasks).

What a person may claim was found by walking every open unclaimed task of the company and
probing its candidate rows (9-13 ms for every persona's 待办 page and 5 ms for the badge at
2,073 such tasks, even for an employee with nothing to claim); a role's candidate rows could
not be read the other way round, as they are kept after the task ends (299,202 rows, 2,073
of them on offer). Now a person's few rows on offer are read by ``candidate_on_offer``.

The database keeps the flag, whatever writes the rows (the engine's own SQL, the ORM, the
admin, a bulk update), at a cost the engine does not feel (issue 16's target 1):

- a new row that does not say (``offered`` NULL: the ORM, the admin, an import) takes it from
  its task, by a BEFORE INSERT trigger (PostgreSQL; an AFTER INSERT trigger's UPDATE on
  SQLite, which cannot change NEW) that runs only then (``WHEN (NEW.offered IS NULL)``);
  the engine says it in its own INSERT (``store.insert_candidates``) and pays nothing;
- a task whose state or assignee changed so that it went on or off offer writes it to its
  rows, by an AFTER UPDATE trigger that runs only then.

On PostgreSQL both triggers' statements are planned on each call (``EXECUTE``): a plan
PL/pgSQL cached while the tables were small (a new installation, a long-lived connection)
scans them as they grow. Measured with cached plans in one transaction: 20,000 candidate
rows inserted in 27-33 s and their tasks completed in 41-45 s, against 0.2 and 0.4 s
without the triggers.

A later migration that makes SQLite rebuild ``workflow_task`` or ``workflow_taskcandidate``
drops these triggers with the old table: it must create them again
(``tests/workflow/test_candidate_on_offer.py`` checks they work).
"""

from django.db import migrations, models

CANDIDATES = "workflow_taskcandidate"
TASKS = "workflow_task"
ON_OFFER = "{row}.state = 'open' AND {row}.assignee = ''"
TASK_ON_OFFER = (
    f"COALESCE((SELECT {ON_OFFER.format(row='t')} FROM {TASKS} t WHERE t.id = NEW.task_id), 0)"
)

PG_CREATE = (
    "CREATE OR REPLACE FUNCTION workflow_candidate_offered() RETURNS trigger AS $$ BEGIN "
    # the task by its key alone (with its state in the condition too, a table never
    # analyzed had it read through the state's index, every open task walked)
    f"EXECUTE $sql$SELECT {ON_OFFER.format(row='t')} FROM {TASKS} t WHERE t.id = $1$sql$ "
    "INTO NEW.offered USING NEW.task_id; NEW.offered := COALESCE(NEW.offered, FALSE); "
    "RETURN NEW; END $$ LANGUAGE plpgsql",
    f"CREATE TRIGGER workflow_candidate_offered BEFORE INSERT ON {CANDIDATES} FOR EACH ROW "
    "WHEN (NEW.offered IS NULL) EXECUTE FUNCTION workflow_candidate_offered()",
    "CREATE OR REPLACE FUNCTION workflow_task_offered() RETURNS trigger AS $$ BEGIN "
    f"EXECUTE 'UPDATE {CANDIDATES} SET offered = $1 WHERE task_id = $2' "
    f"USING ({ON_OFFER.format(row='NEW')}), NEW.id; RETURN NULL; END $$ LANGUAGE plpgsql",
    f"CREATE TRIGGER workflow_task_offered AFTER UPDATE OF state, assignee ON {TASKS} "
    f"FOR EACH ROW WHEN (({ON_OFFER.format(row='OLD')}) IS DISTINCT FROM "
    f"({ON_OFFER.format(row='NEW')})) EXECUTE FUNCTION workflow_task_offered()",
)
PG_DROP = (
    f"DROP TRIGGER IF EXISTS workflow_task_offered ON {TASKS}",
    "DROP FUNCTION IF EXISTS workflow_task_offered()",
    f"DROP TRIGGER IF EXISTS workflow_candidate_offered ON {CANDIDATES}",
    "DROP FUNCTION IF EXISTS workflow_candidate_offered()",
)
SQLITE_CREATE = (
    f"CREATE TRIGGER IF NOT EXISTS workflow_candidate_offered AFTER INSERT ON {CANDIDATES} "
    f"WHEN NEW.offered IS NULL "
    f"BEGIN UPDATE {CANDIDATES} SET offered = {TASK_ON_OFFER} WHERE id = NEW.id; END",
    f"CREATE TRIGGER IF NOT EXISTS workflow_task_offered AFTER UPDATE OF state, assignee "
    f"ON {TASKS} WHEN ({ON_OFFER.format(row='OLD')}) IS NOT ({ON_OFFER.format(row='NEW')}) "
    f"BEGIN UPDATE {CANDIDATES} SET offered = ({ON_OFFER.format(row='NEW')}) "
    "WHERE task_id = NEW.id; END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS workflow_task_offered",
    "DROP TRIGGER IF EXISTS workflow_candidate_offered",
)
# the rows there already: they were added as not on offer (a constant default, which
# PostgreSQL adds without rewriting the table), then those of the tasks on offer are set
FILL = (
    f"UPDATE {CANDIDATES} SET offered = {{true}} WHERE task_id IN "
    f"(SELECT t.id FROM {TASKS} t WHERE {ON_OFFER.format(row='t')})"
)


def add(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": PG_CREATE, "sqlite": SQLITE_CREATE}.get(vendor, ())
    for statement in statements:
        schema_editor.execute(statement)
    schema_editor.execute(FILL.format(true="TRUE" if vendor == "postgresql" else "1"))


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": PG_DROP, "sqlite": SQLITE_DROP}.get(vendor, ())
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0012_task_done_search_in_index"),
    ]

    operations = [
        # the rows there now are not on offer until FILL says otherwise, without a rewrite of
        # the table; new rows have no default (None: the trigger takes it from the task)
        migrations.AddField(
            model_name="taskcandidate",
            name="offered",
            field=models.BooleanField(db_default=False, editable=False),
        ),
        migrations.AlterField(
            model_name="taskcandidate",
            name="offered",
            field=models.BooleanField(default=None, editable=False, null=True),
        ),
        migrations.RunPython(add, remove, elidable=False),
        migrations.AddIndex(
            model_name="taskcandidate",
            index=models.Index(
                condition=models.Q(("offered", True)),
                fields=["kind", "value", "task"],
                name="candidate_on_offer",
            ),
        ),
    ]
