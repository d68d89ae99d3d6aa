"""Give the role the app runs as what it needs, and nothing that could rewrite the audit trail.

Run as the database owner after each `migrate`. Tables (the audit table and its append-only trigger
included) stay owned by the role that ran the migrations; the app role gets row access only, and no
UPDATE, DELETE or TRUNCATE on audit events. Not being the owner, it cannot disable or drop the trigger.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

GRANTS = (
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
    "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
    "REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_auditevent FROM {role}",
    "REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_auditchainhead FROM {role}",
)


class Command(BaseCommand):
    help = "PostgreSQL: grant the app's runtime role row access, without any way to change the audit trail."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--role", required=True, help="the role web, workers and beat log in as")

    def handle(self, *args: object, role: str, **options: object) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("db_grant_app_role is for PostgreSQL; SQLite has no roles")
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper, pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles WHERE rolname = %s",
                           [role])  # fmt: skip
            found = cursor.fetchone()
            if found is None:
                raise CommandError(f"no role {role!r}: CREATE ROLE {role} LOGIN PASSWORD '…' first")
            cursor.execute("SELECT current_user")
            if cursor.fetchone()[0] == role:
                raise CommandError("run this as the database owner, not as the app role itself")
            if found[0]:
                raise CommandError(f"role {role!r} is a superuser: it could disable the audit trigger")
            cursor.execute("SELECT pg_has_role(%s, tableowner, 'MEMBER') FROM pg_tables WHERE tablename = %s",
                           [role, "audit_auditevent"])  # fmt: skip
            owns = cursor.fetchone()
            if owns is None:
                raise CommandError("the audit table does not exist yet: run migrate first")
            if owns[0]:
                raise CommandError(f"role {role!r} owns (or is a member of the owner of) the audit table")
            with transaction.atomic():
                for statement in GRANTS:
                    cursor.execute(sql.SQL(statement).format(role=sql.Identifier(role)))
        self.stdout.write(f"role {role} may read and write the app's tables; audit events only SELECT and INSERT")
