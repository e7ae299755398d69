"""PostgreSQL's statistics of ``workflow_task`` (state, assignee) together (issue 16).

The planner took the two columns as independent: open tasks are 1 % of the table and an
empty assignee 30 % of it (the claimed tasks of long ago keep theirs; the unclaimed are
the open ones offered to a role), so it reckoned 28 open unclaimed tasks where there are
2,073 at 1M tasks, and read the 待办 page's claimable windows (their ids listed) by walking
all 2,073 through that index rather than by their ids: 3 ms each, four of them a page. With
the two columns' common pairs counted (``mcv``) it reckons 2,136, and the windows read their
ids. SQLite has no such statistics; nothing is done there.
"""

from django.db import migrations

CREATE = (
    "CREATE STATISTICS IF NOT EXISTS workflow_task_state_assignee (mcv) "
    "ON state, assignee FROM workflow_task"
)
DROP = "DROP STATISTICS IF EXISTS workflow_task_state_assignee"


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)
        schema_editor.execute("ANALYZE workflow_task")


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0013_candidate_on_offer"),
    ]

    operations = [migrations.RunPython(add, remove, elidable=False)]
