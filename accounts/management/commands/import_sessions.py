from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import Team
from accounts.services import ImportReport, session_import
from accounts.sessions import InputFile
from accounts.telegram.proxy_url import ProxyUrlError, proxy_url_parse
from project.actors import SystemActor

CHUNK_FILES = 500


class Command(BaseCommand):
    help = "Import session files (any supported format, zips, .session + .json pairs) from files or folders."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", help="files or folders (searched recursively)")
        parser.add_argument("--team", help="name of the team that will own the imported accounts")
        parser.add_argument("--proxy", help="a proxy URL or link every new account goes through (unless its "
                                             "sidecar names its own), e.g. socks5://user:pass@host:port")  # fmt: skip
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: object, paths: list[str], team: str | None, no_progress: bool, proxy: str | None = None,
               **options: object) -> None:  # fmt: skip
        spec = None
        if proxy is not None:
            try:
                spec = proxy_url_parse(proxy)
            except ProxyUrlError as exc:
                raise CommandError(f"--proxy: {exc}") from None
        owner = None
        if team is not None:
            owner = Team.objects.filter(name=team).first()
            if owner is None:
                raise CommandError(f"--team: no team named {team!r}")
        files = _collect([Path(p) for p in paths])
        if not files:
            raise CommandError("no files found under the given paths")
        report = ImportReport()
        actor = SystemActor("import_sessions")
        with tqdm(total=len(files), unit="file", disable=no_progress, file=sys.stderr) as bar:
            for chunk in _chunks(files):
                inputs = [InputFile(str(path), _read(path)) for path in chunk]
                chunk_report = session_import(actor=actor, files=inputs, team=owner, proxy=spec)
                report.outcomes.extend(chunk_report.outcomes)
                bar.update(len(chunk))
        for outcome in report.outcomes:
            if outcome.result == "rejected":
                self.stdout.write(f"rejected {outcome.name}: {outcome.reason}")
        summary = report.summary
        self.stdout.write(
            f"imported {summary['imported']}, duplicates {summary['duplicate']}, rejected {summary['rejected']}"
        )
        if summary["rejected"]:
            raise SystemExit(1)


def _collect(paths: list[Path]) -> list[Path]:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise CommandError(f"no such file or folder: {', '.join(missing)}")
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")))
        else:
            found.append(path)
    return found


def _chunks(files: list[Path]):
    """Chunks that never split a .session from its .json."""
    groups: dict[tuple[Path, str], list[Path]] = defaultdict(list)
    for path in files:
        groups[(path.parent, path.stem.lower())].append(path)
    chunk: list[Path] = []
    for group in groups.values():
        chunk.extend(group)
        if len(chunk) >= CHUNK_FILES:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _read(path: Path) -> bytes:
    limit = max(settings.SESSION_IMPORT_MAX_FILE_BYTES, settings.SESSION_IMPORT_MAX_ZIP_BYTES)
    with path.open("rb") as handle:
        return handle.read(limit + 1)
