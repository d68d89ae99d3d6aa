"""The vault's management commands, run as an operator would, in their own processes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests import session_makers as make
from tests.processes import ROOT, clean_env, manage

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def site(tmp_path):
    """A migrated installation of its own (SQLite file, vault, key) for subprocesses to share."""
    env = clean_env(DATA_DIR=str(tmp_path / "data"), SESSION_ENCRYPTION_KEY=Fernet.generate_key().decode())
    migrated = manage("migrate", "--noinput", "-v0", env=env, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    return env


def _folder(tmp_path: Path, count: int) -> tuple[Path, list[bytes]]:
    folder = tmp_path / "incoming"
    (folder / "nested").mkdir(parents=True)
    keys = [make.random_key() for _ in range(count)]
    for i, key in enumerate(keys):
        target = folder / ("nested" if i % 2 else "") / f"acc{i}.session"
        make.telethon_file(target, key=key)
    return folder, keys


def _shell(env: dict[str, str], code: str) -> str:
    result = manage("shell", "-v0", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_sessions_walks_folders_and_summarises(site, tmp_path) -> None:
    folder, _keys = _folder(tmp_path, 6)
    (folder / "junk.session").write_bytes(os.urandom(300))
    (folder / "acc0.json").write_text(json.dumps({"app_id": 4242, "phone": "+14155550100"}))

    first = manage("import_sessions", str(folder), env=site)
    second = manage("import_sessions", str(folder), env=site)

    assert first.returncode == 1  # one file was rejected
    assert "imported 6, duplicates 0, rejected 1" in first.stdout
    assert f"rejected {folder / 'junk.session'}: not a session" in first.stdout
    assert "100%" in first.stderr  # the progress bar ran to the end
    assert "imported 0, duplicates 6, rejected 1" in second.stdout
    phone = _shell(site, "from accounts.models import TelegramAccount as T; print(T.objects.get(api_id=4242).phone)")
    assert phone.strip() == "+14155550100"


def test_import_sessions_refuses_a_missing_path_and_imports_nothing(site, tmp_path) -> None:
    folder, _ = _folder(tmp_path, 2)

    result = manage("import_sessions", str(folder), str(tmp_path / "nope"), env=site)

    assert result.returncode == 1
    assert f"no such file or folder: {tmp_path / 'nope'}" in result.stderr
    assert _shell(site, "from accounts.models import TelegramAccount as T; print(T.objects.count())").strip() == "0"


def test_import_sessions_refuses_an_unknown_team(site, tmp_path) -> None:
    folder, _ = _folder(tmp_path, 1)

    result = manage("import_sessions", str(folder), "--team", "ghosts", env=site)

    assert result.returncode == 1 and "--team: no team named 'ghosts'" in result.stderr


def test_generate_encryption_key_prints_a_fernet_key(site) -> None:
    result = manage("generate_encryption_key", env=site)

    Fernet(result.stdout.strip().encode())  # raises if it is not a key
    assert len(result.stdout.strip()) == 44


def test_a_malformed_encryption_key_names_the_variable(tmp_path) -> None:
    env = clean_env(DATA_DIR=str(tmp_path), SESSION_ENCRYPTION_KEY=f"{Fernet.generate_key().decode()},not-a-key")

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "SESSION_ENCRYPTION_KEY: key 2 of 2 is not a Fernet key" in result.stderr


def test_rotation_killed_midway_loses_nothing_and_finishes_when_run_again(site, tmp_path) -> None:
    folder, keys = _folder(tmp_path, 400)
    assert manage("import_sessions", str(folder), "--no-progress", env=site, timeout=120).returncode == 0
    old = site["SESSION_ENCRYPTION_KEY"]
    new = Fernet.generate_key().decode()
    both = {**site, "SESSION_ENCRYPTION_KEY": f"{new},{old}"}

    proc = subprocess.Popen(
        [sys.executable, "manage.py", "rotate_session_keys"],
        cwd=ROOT,
        env=both,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    seen = b""
    while b"session" not in seen or b" 0/" in seen.split(b"\r")[-1]:
        chunk = proc.stderr.read1(256)
        if not chunk:
            break
        seen += chunk
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    check = (
        "from accounts.models import TelegramAccount as T; from accounts.services import account_vault_entry as e;"
        "print(','.join(e(a).record.auth_key.hex() for a in T.objects.order_by('pk')))"
    )
    after_kill = _shell(both, check).strip().split(",")
    count_new = (
        "from accounts.models import TelegramAccount as T; from accounts.services import account_vault_entry as e\n"
        "n = 0\nfor a in T.objects.all():\n    try:\n        e(a); n += 1\n"
        "    except Exception:\n        pass\nprint(n)"
    )
    rotated_before_kill = int(_shell({**site, "SESSION_ENCRYPTION_KEY": new}, count_new))
    rerun = manage("rotate_session_keys", "--no-progress", env=both, timeout=120)
    only_new = _shell({**site, "SESSION_ENCRYPTION_KEY": new}, check).strip().split(",")

    assert proc.returncode == -signal.SIGKILL
    assert 0 < rotated_before_kill < 400, rotated_before_kill  # the kill landed mid-rotation
    assert sorted(after_kill) == sorted(k.hex() for k in keys)
    assert rerun.returncode == 0 and "rotated 400 of 400, failed 0" in rerun.stdout
    assert sorted(only_new) == sorted(k.hex() for k in keys)
    leftovers = [p.name for p in (Path(site["DATA_DIR"]) / "sessions").iterdir() if p.name.startswith(".tmp-")]
    assert len(leftovers) <= 8  # at most one temp file per writer thread killed mid-write, never a lost session
