"""Encryption keys for the vault, built from settings at call time.

MultiFernet: the first key encrypts, every key decrypts, rotation rewrites with
the first. Keys come from SESSION_ENCRYPTION_KEY (newest first), from
SESSION_ENCRYPTION_PASSWORD through Scrypt with a stored salt, or, with neither
set, from a key generated once into DATA_DIR (zero-setup; health flags it).
"""

from __future__ import annotations

import base64
import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.conf import settings

logger = logging.getLogger(__name__)

# OWASP's scrypt recommendation (N=2^17, r=8, p=1): about 128 MiB and a few hundred ms, once per process.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
SALT_BYTES = 16
UNDECRYPTABLE = "session cannot be decrypted with any configured key (wrong key or damaged file)"


class VaultKeyError(Exception):
    """A stored session cannot be decrypted with the configured keys."""


@dataclass(frozen=True)
class VaultKeys:
    enabled: bool
    source: str  # "keys", "password", "generated" or "disabled"
    fernet: MultiFernet | None
    key_count: int

    def encrypt(self, data: bytes) -> bytes:
        assert self.fernet is not None
        return self.fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        if self.fernet is None:
            raise VaultKeyError("session is encrypted but encryption is disabled and no key is configured")
        try:
            return self.fernet.decrypt(token)
        except InvalidToken:
            raise VaultKeyError(UNDECRYPTABLE) from None

    def rotate(self, token: bytes) -> bytes:
        if self.fernet is None:
            raise VaultKeyError("no key is configured to rotate to")
        try:
            return self.fernet.rotate(token)
        except InvalidToken:
            raise VaultKeyError(UNDECRYPTABLE) from None


def vault_keys() -> VaultKeys:
    return _vault_keys(
        settings.SESSION_ENCRYPTION_ENABLED,
        tuple(settings.SESSION_ENCRYPTION_KEY),
        settings.SESSION_ENCRYPTION_PASSWORD,
        settings.SESSION_ENCRYPTION_PREVIOUS_PASSWORD,
        str(settings.DATA_DIR),
    )


@functools.lru_cache(maxsize=8)
def _vault_keys(
    enabled: bool, keys: tuple[str, ...], password: str | None, previous: str | None, data_dir: str
) -> VaultKeys:
    fernets = [Fernet(key) for key in keys]
    source = "keys" if keys else "password" if password else "generated"
    if password or previous:
        salt = _salt(Path(data_dir))
        fernets += [Fernet(_derive(secret, salt)) for secret in (password, previous) if secret]
    if not fernets and enabled:
        fernets.append(Fernet(_generated_key(Path(data_dir))))
    if not enabled:
        source = "disabled"
    return VaultKeys(enabled=enabled, source=source, fernet=MultiFernet(fernets) if fernets else None,
                     key_count=len(fernets))  # fmt: skip


def key_generate() -> str:
    return Fernet.generate_key().decode("ascii")


@functools.lru_cache(maxsize=4)
def _derive(password: str, salt: bytes) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return base64.urlsafe_b64encode(kdf.derive(password.encode("utf-8")))


def _salt(data_dir: Path) -> bytes:
    if settings.SESSION_ENCRYPTION_SALT:
        return base64.b64decode(settings.SESSION_ENCRYPTION_SALT)
    return _secret_file(data_dir / "vault_salt", lambda: base64.b64encode(os.urandom(SALT_BYTES)), decode=True)


def _generated_key(data_dir: Path) -> bytes:
    path = data_dir / "session_encryption.key"
    if not path.exists():
        logger.warning("No SESSION_ENCRYPTION_KEY or _PASSWORD set: generated a vault key at %s", path)
    return _secret_file(path, lambda: Fernet.generate_key(), decode=False)


def _secret_file(path: Path, make, *, decode: bool) -> bytes:
    """Read a small secret file, creating it 0600 once (O_EXCL, so two processes agree)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as handle:
            handle.write(make())
            handle.flush()
            os.fsync(handle.fileno())
    raw = path.read_bytes().strip()
    return base64.b64decode(raw) if decode else raw
