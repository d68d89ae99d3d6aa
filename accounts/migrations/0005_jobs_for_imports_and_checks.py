from django.db import migrations, models


class Migration(migrations.Migration):
    """ImportJob becomes Job: imports and checks a person asked for both run on workers and are polled."""

    dependencies = [
        ("accounts", "0004_importjob"),
    ]

    operations = [
        migrations.RenameModel("ImportJob", "Job"),
        migrations.AddField(
            model_name="job",
            name="kind",
            field=models.CharField(choices=[("import", "Import"), ("check", "Check")], default="import", max_length=8),
        ),
        migrations.AddField(
            model_name="job",
            name="account_ids",
            field=models.JSONField(default=list, help_text="the accounts to check (checks)"),
        ),
        migrations.AlterField(
            model_name="job",
            name="uploaded",
            field=models.JSONField(default=list, help_text="the uploaded file names (imports)"),
        ),
        migrations.AlterField(
            model_name="job",
            name="total",
            field=models.PositiveIntegerField(
                default=0, help_text="sessions found once parsed (zips expand), or accounts"
            ),
        ),
    ]
