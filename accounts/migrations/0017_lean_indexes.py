"""Fewer indexes for a check to write (issue 16): a check rewrites its account's row, and a row's update that changes
an indexed column (next_check_at) inserts into every index of the table; a check's record is one insert per index.

- vault_name and auth_key_sha256 stay unique through constraints: a unique CharField on PostgreSQL also carries a
  pattern-ops (LIKE) index that nothing asks. The constraints are in place before the fields' own indexes go.
- team keeps its lone index beside (team, label, id): a list page's total counts a team's accounts on it, and the
  wider index made that a third slower (the API list's p95 at 100,000 went over its 50 ms).
- proxy: indexed only where set, so an account without one costs that index nothing.
- a check record's account: its lone index goes; (account, at) serves every lookup by account.

Twelve indexes on the accounts table become nine for an account without a proxy (PostgreSQL; elsewhere the same
schema by Django's own operations)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0016_account_fillfactor"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="telegramaccount",
            constraint=models.UniqueConstraint(fields=("vault_name",), name="account_vault_name_unique"),
        ),
        migrations.AddConstraint(
            model_name="telegramaccount",
            constraint=models.UniqueConstraint(fields=("auth_key_sha256",), name="account_auth_key_unique"),
        ),
        migrations.AlterField(
            model_name="telegramaccount",
            name="vault_name",
            field=models.CharField(editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="telegramaccount",
            name="auth_key_sha256",
            field=models.CharField(editable=False, max_length=64),
        ),
        migrations.AddIndex(
            model_name="telegramaccount",
            index=models.Index(condition=models.Q(("proxy__isnull", False)), fields=["proxy"], name="account_proxy"),
        ),
        migrations.AlterField(
            model_name="telegramaccount",
            name="proxy",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="accounts",
                to="accounts.proxy",
            ),
        ),
        migrations.AlterField(
            model_name="checkrecord",
            name="account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="checks",
                to="accounts.telegramaccount",
            ),
        ),
    ]
