from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team
from accounts.services.proxies import ProxyImportError, proxies_import
from project.actors import SystemActor

MAX_BYTES = 5 * 1024 * 1024


class Command(BaseCommand):
    help = (
        "Import proxies from a file, one a line: socks5://user:pass@host:port, http://host:port, "
        "mtproxy://SECRET@host:port, or a tg://proxy / tg://socks link. Every line is checked first: "
        "one bad line stores nothing and names each bad line."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="a text file, or - for standard input")
        parser.add_argument("--team", help="name of the team whose accounts may use these proxies")
        parser.add_argument("--capacity", type=int, default=10, help="most accounts per proxy (default 10)")

    def handle(self, *args: object, file: str, team: str | None, capacity: int, **options: object) -> None:
        if not 1 <= capacity <= 100_000:
            raise CommandError("--capacity must be from 1 to 100000")
        owner = None
        if team is not None:
            owner = Team.objects.filter(name=team).first()
            if owner is None:
                raise CommandError(f"--team: no team named {team!r}")
        text = self._read(file)
        try:
            report = proxies_import(actor=SystemActor("import_proxies"), lines=text.splitlines(), team=owner,
                                    capacity=capacity)  # fmt: skip
        except ProxyImportError as exc:
            for number, reason in exc.problems:
                self.stderr.write(f"line {number}: {reason}")
            raise CommandError(f"{len(exc.problems)} bad line(s); nothing was imported") from None
        self.stdout.write(f"imported {len(report.created)}, already there {len(report.existing)}")

    def _read(self, file: str) -> str:
        import sys

        if file == "-":
            data = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            path = Path(file)
            if not path.is_file():
                raise CommandError(f"no such file: {file}")
            data = path.read_bytes()[: MAX_BYTES + 1]
        if len(data) > MAX_BYTES:
            raise CommandError(f"{file} is over {MAX_BYTES} bytes; split it")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file} is not UTF-8 text (byte {exc.start})") from None
