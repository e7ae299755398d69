"""Writes the default data-dictionary code rules (administrators may change them)."""

from django.conf import settings
from django.db import migrations

DEFAULTS = [
    ("employee_no", None, "E000001", "Employee number: E followed by six digits."),
    ("department_code", r"[A-Z][A-Z0-9_-]{1,19}", "FIN", "Department code: capital letters, digits, - or _."),
    ("position_code", r"[A-Z][A-Z0-9_-]{1,29}", "FIN-ACC", "Position code: capital letters, digits, - or _."),
]


def forwards(apps, schema_editor):
    CodeRule = apps.get_model("portal", "CodeRule")
    for key, pattern, example, description in DEFAULTS:
        if pattern is None:
            pattern = settings.EMPLOYEE_NO_PATTERN
            example = "" if pattern != r"E\d{6}" else example
        CodeRule.objects.get_or_create(
            key=key, defaults={"pattern": pattern, "example": example, "description": description}
        )


def backwards(apps, schema_editor):
    apps.get_model("portal", "CodeRule").objects.filter(key__in=[d[0] for d in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
