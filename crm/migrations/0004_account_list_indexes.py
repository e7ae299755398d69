"""Indexes for the account list at scale (issue 19, bench/crm_scale.py): the list's order
as it is read (newest change first, then the highest id), and its region, industry and
level filters, which PostgreSQL combines with the visibility's owner, team and department
conditions. Plain B-tree indexes: the same on SQLite."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0003_sales"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="account",
            name="crm_account_updated_a7d1cd_idx",
        ),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(fields=["-updated_at", "-id"], name="crm_account_recent"),
        ),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(fields=["province", "city"], name="crm_account_region"),
        ),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(fields=["industry"], name="crm_account_industry"),
        ),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(fields=["level"], name="crm_account_level"),
        ),
    ]
