"""Who sees an opportunity, on the opportunity's own row (issue 19, the kanban of a region):
copies of its account's owner and department (``account_owner``, ``account_department``),
so that the board counts and ranks a director's 16,000 opportunities without joining the
22,000 accounts they see (``bench/RESULTS.md``: the board's query 70-104 -> ~20 ms).

The database keeps the copies, whatever writes the rows (the services, an import, the
admin, a bulk insert, COPY):

- PostgreSQL: a BEFORE trigger on every insert of an opportunity and every update naming
  its account or the copies (Django's full ``save()`` names every column) takes them from
  the account; an AFTER trigger on an account whose owner or department changed writes them
  to its opportunities;
- SQLite: the same as AFTER triggers (SQLite cannot change NEW); the copy is written by an
  UPDATE of the row just inserted or changed (``recursive_triggers`` is off, Django's
  default, so it does not fire itself again). A later migration that makes SQLite rebuild
  ``crm_opportunity`` or ``crm_account`` drops these triggers with the old table: it must
  create them again (``tests/crm/test_opportunity_seen.py`` checks they work).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

OPPORTUNITIES = "crm_opportunity"
ACCOUNTS = "crm_account"
COPY = (
    "account_owner_id = (SELECT owner_id FROM crm_account WHERE id = NEW.account_id), "
    "account_department_id = (SELECT department_id FROM crm_account WHERE id = NEW.account_id)"
)

PG_CREATE = (
    "CREATE OR REPLACE FUNCTION crm_opportunity_seen() RETURNS trigger AS $$ BEGIN "
    "SELECT owner_id, department_id INTO NEW.account_owner_id, NEW.account_department_id "
    "FROM crm_account WHERE id = NEW.account_id; RETURN NEW; END $$ LANGUAGE plpgsql",
    f"CREATE TRIGGER crm_opportunity_seen BEFORE INSERT OR UPDATE OF account_id, "
    f"account_owner_id, account_department_id ON {OPPORTUNITIES} "
    "FOR EACH ROW EXECUTE FUNCTION crm_opportunity_seen()",
    "CREATE OR REPLACE FUNCTION crm_account_seen() RETURNS trigger AS $$ BEGIN "
    f"UPDATE {OPPORTUNITIES} SET account_owner_id = NEW.owner_id, "
    "account_department_id = NEW.department_id WHERE account_id = NEW.id; "
    "RETURN NULL; END $$ LANGUAGE plpgsql",
    f"CREATE TRIGGER crm_account_seen AFTER UPDATE OF owner_id, department_id ON {ACCOUNTS} "
    "FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id "
    "OR OLD.department_id IS DISTINCT FROM NEW.department_id) "
    "EXECUTE FUNCTION crm_account_seen()",
)
PG_DROP = (
    f"DROP TRIGGER IF EXISTS crm_account_seen ON {ACCOUNTS}",
    "DROP FUNCTION IF EXISTS crm_account_seen()",
    f"DROP TRIGGER IF EXISTS crm_opportunity_seen ON {OPPORTUNITIES}",
    "DROP FUNCTION IF EXISTS crm_opportunity_seen()",
)
SQLITE_CREATE = (
    f"CREATE TRIGGER IF NOT EXISTS crm_opportunity_seen_insert AFTER INSERT ON {OPPORTUNITIES} "
    f"BEGIN UPDATE {OPPORTUNITIES} SET {COPY} WHERE id = NEW.id; END",
    f"CREATE TRIGGER IF NOT EXISTS crm_opportunity_seen_update AFTER UPDATE OF account_id, "
    f"account_owner_id, account_department_id ON {OPPORTUNITIES} "
    f"BEGIN UPDATE {OPPORTUNITIES} SET {COPY} WHERE id = NEW.id; END",
    f"CREATE TRIGGER IF NOT EXISTS crm_account_seen AFTER UPDATE OF owner_id, department_id "
    f"ON {ACCOUNTS} BEGIN UPDATE {OPPORTUNITIES} SET account_owner_id = NEW.owner_id, "
    "account_department_id = NEW.department_id WHERE account_id = NEW.id; END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS crm_account_seen",
    "DROP TRIGGER IF EXISTS crm_opportunity_seen_update",
    "DROP TRIGGER IF EXISTS crm_opportunity_seen_insert",
)
# the rows there already (the same statement on both)
FILL = (
    f"UPDATE {OPPORTUNITIES} SET "
    "account_owner_id = (SELECT a.owner_id FROM crm_account a WHERE a.id = account_id), "
    "account_department_id = (SELECT a.department_id FROM crm_account a WHERE a.id = account_id)"
)


def add(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": PG_CREATE, "sqlite": SQLITE_CREATE}.get(vendor, ())
    for statement in statements:
        schema_editor.execute(statement)
    schema_editor.execute(FILL)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": PG_DROP, "sqlite": SQLITE_DROP}.get(vendor, ())
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0004_account_list_indexes"),
        ("portal", "0006_code_rules_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="opportunity",
            name="account_department",
            field=models.ForeignKey(
                db_constraint=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="portal.department",
            ),
        ),
        migrations.AddField(
            model_name="opportunity",
            name="account_owner",
            field=models.ForeignKey(
                db_constraint=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(add, remove, elidable=False),
    ]
