import json

from django.core.management.base import BaseCommand

from health.runner import health_report


class Command(BaseCommand):
    help = "Run every health check now; exit 1 when tgfleet is unhealthy."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: object, json: bool = False, **options: object) -> None:
        report = health_report(use_cache=False)
        if json:
            self.stdout.write(_json_dumps(report.as_dict(detailed=True)))
        else:
            self.stdout.write(f"tgfleet is {report.status}")
            for c in report.components:
                flag = "critical" if c.critical else "optional"
                self.stdout.write(f"  {c.name:<14} {c.status:<9} {flag:<8} {c.duration_ms:>5} ms  {c.message}")
        if report.status == "unhealthy":
            raise SystemExit(1)


def _json_dumps(doc: dict) -> str:
    return json.dumps(doc, indent=2, default=str)
