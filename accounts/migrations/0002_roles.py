from django.contrib.auth.management import create_permissions
from django.db import migrations


def install_roles(apps, schema_editor) -> None:
    from accounts.roles import roles_install

    for app_config in apps.get_app_configs():  # permissions normally appear only after migrate
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    roles_install(using=schema_editor.connection.alias, apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("audit", "0002_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(install_roles, migrations.RunPython.noop)]
