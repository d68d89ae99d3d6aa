"""Room on each page of the accounts table (PostgreSQL fillfactor 80): a check writes an account's row three times
(queued, leased, result), and an update that changes no indexed column (the lease) can then stay on its page
without touching the table's twelve indexes (a HOT update). New and rewritten pages get the room; elsewhere a no-op."""

from django.db import migrations


def fillfactor_set(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE accounts_telegramaccount SET (fillfactor = 80)")


def fillfactor_reset(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE accounts_telegramaccount RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0015_attention_index"),
    ]

    operations = [migrations.RunPython(fillfactor_set, fillfactor_reset)]
