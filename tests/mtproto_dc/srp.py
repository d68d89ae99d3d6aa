"""The server's side of Telegram's two-step password check (SRP-2048, https://core.telegram.org/api/srp).

The DC keeps only v = g^x (x from the password through SHA-256, PBKDF2-HMAC-SHA512 and the salts, as Telethon's
`compute_hash`), sends B = k*v + g^b, and accepts the client's M1 only if it proves the same S = (A * v^u)^b.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field

from telethon.password import big_num_for_hash, compute_hash, is_good_mod_exp_first, sha256, xor
from telethon.tl import types

from tests.mtproto_dc.handshake import DH_G, DH_PRIME

P_BYTES = DH_PRIME.to_bytes(256, "big")


@dataclass
class Verifier:
    """What a DC stores of a two-step password: salts and v, never the password."""

    salt1: bytes
    salt2: bytes
    v: int
    hint: str = ""
    pending: dict[int, tuple[int, int]] = field(default_factory=dict)  # srp_id -> (b, B)

    @classmethod
    def from_password(cls, password: str, hint: str = "") -> Verifier:
        algo = _algo(os.urandom(40), os.urandom(16))
        x = int.from_bytes(compute_hash(algo, password), "big")
        return cls(algo.salt1, algo.salt2, pow(DH_G, x, DH_PRIME), hint)

    def password_info(self) -> bytes:
        """account.password with a fresh srp_B/srp_id, as account.getPassword answers."""
        k = int.from_bytes(sha256(P_BYTES, big_num_for_hash(DH_G)), "big")
        while True:
            b = int.from_bytes(os.urandom(256), "big")
            g_b = pow(DH_G, b, DH_PRIME)
            if is_good_mod_exp_first(g_b, DH_PRIME):
                break
        B = (k * self.v + g_b) % DH_PRIME
        srp_id = int.from_bytes(os.urandom(8), "big", signed=True)
        self.pending[srp_id] = (b, B)
        return bytes(types.account.Password(
            new_algo=_algo(self.salt1[:32], b""), new_secure_algo=types.SecurePasswordKdfAlgoSHA512(os.urandom(8)),
            secure_random=os.urandom(256), has_password=True, current_algo=_algo(self.salt1, self.salt2),
            srp_B=big_num_for_hash(B), srp_id=srp_id, hint=self.hint or None,
        ))  # fmt: skip

    def check(self, srp: types.InputCheckPasswordSRP) -> str | None:
        """None if the proof is right, else the RPC error Telegram answers."""
        if srp.srp_id not in self.pending:
            return "SRP_ID_INVALID"
        b, B = self.pending.pop(srp.srp_id)
        A = int.from_bytes(srp.A, "big")
        if not 0 < A < DH_PRIME:
            return "SRP_A_INVALID"
        a_bytes, b_bytes = big_num_for_hash(A), big_num_for_hash(B)
        u = int.from_bytes(sha256(a_bytes, b_bytes), "big")
        S = pow(A * pow(self.v, u, DH_PRIME) % DH_PRIME, b, DH_PRIME)
        K = sha256(big_num_for_hash(S))
        M1 = sha256(xor(sha256(P_BYTES), sha256(big_num_for_hash(DH_G))), sha256(self.salt1), sha256(self.salt2),
                    a_bytes, b_bytes, K)  # fmt: skip
        return None if hmac.compare_digest(M1, srp.M1) else "PASSWORD_HASH_INVALID"


def _algo(salt1: bytes, salt2: bytes):
    return types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(salt1, salt2, DH_G, P_BYTES)
