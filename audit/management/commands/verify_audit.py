import argparse
import os
import time
from pathlib import Path

from django.core.management.base import BaseCommand

from audit.checkpoints import audit_checkpoints_verify
from audit.verify import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Check the audit trail's keyed hash chain; report the first changed, missing or reordered event. "
        "With --checkpoints, also find every checkpointed event still there unchanged (catches truncation)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--checkpoints", action="store_true", help="also check the signed checkpoints")
        parser.add_argument("--checkpoint-file", type=Path, help="default: AUDIT_CHECKPOINT_FILE")
        parser.add_argument("--jobs", type=_jobs, default=os.cpu_count() or 1,
                            help="processes verifying runs of the trail at once, 1 to 64 (default: one per core; "
                                 "PostgreSQL only, from 20,000 events)")  # fmt: skip

    def handle(
        self, *args: object, checkpoints: bool, checkpoint_file: Path | None, jobs: int, **options: object
    ) -> None:
        started = time.perf_counter()
        report = audit_chain_verify(jobs=jobs)
        took = time.perf_counter() - started
        if report.problem:
            self.stderr.write(f"audit trail broken: {report.problem} ({report.checked} events verified before it)")
            raise SystemExit(1)
        if checkpoints:
            if checkpoint_file is not None and not checkpoint_file.is_file():
                self.stderr.write(f"--checkpoint-file {checkpoint_file} is not a readable file")
                raise SystemExit(2)
            count, problem = audit_checkpoints_verify(checkpoint_file)
            if problem:
                self.stderr.write(f"audit trail broken: {problem}")
                raise SystemExit(1)
            self.stdout.write(f"checkpoints: {count} matched")
        self.stdout.write(f"audit trail intact: {report.checked} events verified in {took:.1f}s")


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--jobs must be a whole number, not {value!r}") from None
    if not 1 <= jobs <= 64:
        raise argparse.ArgumentTypeError(f"--jobs must be from 1 to 64, not {jobs}")
    return jobs
