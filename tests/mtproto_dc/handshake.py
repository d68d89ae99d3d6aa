"""The server's half of MTProto's auth key creation (https://core.telegram.org/mtproto/auth_key).

req_pq_multi -> resPQ (a pq of two 31-bit primes, our key's fingerprint); req_DH_params -> the client's
p_q_inner_data decrypted with our RSA private key and checked, then server_DH_params_ok (g, Telegram's 2048-bit
prime, g_a) under the temporary AES key; set_client_DH_params -> g_b, the auth key g_ab, dh_gen_ok. Each step
refuses what a real DC would (wrong nonce, unknown fingerprint, a factorisation that does not match).
"""

from __future__ import annotations

import os
import secrets
import struct
import time
from dataclasses import dataclass
from hashlib import sha1  # MTProto's key exchange is defined over SHA-1

import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from telethon.crypto import AES, AuthKey
from telethon.crypto.rsa import _compute_fingerprint, get_byte_array
from telethon.extensions import BinaryReader
from telethon.helpers import generate_key_data_from_nonce
from telethon.password import check_prime_and_good
from telethon.tl import functions, types

# Telegram's DH prime (the one its servers send, and Telethon's password module knows as good), with g = 3.
DH_PRIME = int(
    "c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925"
    "139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc"
    "49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d"
    "5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850c"
    "e929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b",
    16,
)
DH_G = 3
check_prime_and_good(DH_PRIME.to_bytes(256, "big"), DH_G)  # the same check Telethon makes of a password's prime


class HandshakeError(Exception):
    """The client broke the protocol; a real DC closes the connection (transport error -404 first)."""


@dataclass
class Handshake:
    """One connection's key exchange in progress."""

    rsa_key: RSAPrivateKey
    nonce: int = 0
    server_nonce: int = 0
    pq: int = 0
    new_nonce: int = 0
    a: int = 0

    def answer(self, request) -> bytes:
        if isinstance(request, functions.ReqPqMultiRequest | functions.ReqPqRequest):
            return self._res_pq(request)
        if isinstance(request, functions.ReqDHParamsRequest):
            return self._dh_params(request)
        if isinstance(request, functions.SetClientDHParamsRequest):
            return self._dh_gen(request)
        raise HandshakeError(f"{type(request).__name__} is not part of a key exchange")

    def auth_key(self) -> AuthKey | None:
        return getattr(self, "_auth_key", None)

    @property
    def fingerprint(self) -> int:
        numbers = self.rsa_key.public_key().public_numbers()
        return _compute_fingerprint(rsa.PublicKey(numbers.n, numbers.e))

    def _res_pq(self, request) -> bytes:
        self.nonce = request.nonce
        self.server_nonce = int.from_bytes(os.urandom(16), "big", signed=True)
        p, q = sorted((_prime31(), _prime31()))
        self.pq = p * q
        return bytes(types.ResPQ(self.nonce, self.server_nonce, get_byte_array(self.pq), [self.fingerprint]))

    def _dh_params(self, request) -> bytes:
        self._same_nonces(request)
        if request.public_key_fingerprint != self.fingerprint:
            raise HandshakeError("req_DH_params names a key this DC does not have")
        private = self.rsa_key.private_numbers()
        plain = pow(int.from_bytes(request.encrypted_data, "big"), private.d, private.public_numbers.n)
        if plain.bit_length() > 255 * 8:
            raise HandshakeError("encrypted_data is not sha1 + data + padding (255 bytes)")
        plain = plain.to_bytes(255, "big")
        inner = BinaryReader(plain[20:]).tgread_object()
        if not isinstance(inner, types.PQInnerData) or sha1(bytes(inner)).digest() != plain[:20]:  # noqa: S324
            raise HandshakeError("p_q_inner_data did not decrypt (wrong RSA key or padding)")
        p, q = int.from_bytes(inner.p, "big"), int.from_bytes(inner.q, "big")
        if (inner.nonce, inner.server_nonce) != (self.nonce, self.server_nonce) or p * q != self.pq or p >= q:
            raise HandshakeError("p_q_inner_data does not match this exchange")
        if (request.p, request.q) != (inner.p, inner.q):
            raise HandshakeError("req_DH_params' p and q differ from the encrypted ones")
        self.new_nonce = inner.new_nonce
        while True:
            self.a = int.from_bytes(os.urandom(256), "big")
            g_a = pow(DH_G, self.a, DH_PRIME)
            if 2 ** (2048 - 64) <= g_a <= DH_PRIME - 2 ** (2048 - 64):
                break
        answer = bytes(types.ServerDHInnerData(self.nonce, self.server_nonce, DH_G, get_byte_array(DH_PRIME),
                                               get_byte_array(g_a), int(time.time())))  # fmt: skip
        data = sha1(answer).digest() + answer  # noqa: S324
        data += os.urandom(-len(data) % 16)
        key, iv = generate_key_data_from_nonce(self.server_nonce, self.new_nonce)
        return bytes(types.ServerDHParamsOk(self.nonce, self.server_nonce, AES.encrypt_ige(data, key, iv)))

    def _dh_gen(self, request) -> bytes:
        self._same_nonces(request)
        if not self.new_nonce:
            raise HandshakeError("set_client_DH_params before req_DH_params")
        key, iv = generate_key_data_from_nonce(self.server_nonce, self.new_nonce)
        plain = AES.decrypt_ige(request.encrypted_data, key, iv)
        reader = BinaryReader(plain[20:])
        inner = reader.tgread_object()
        if not isinstance(inner, types.ClientDHInnerData) or sha1(bytes(inner)).digest() != plain[:20]:  # noqa: S324
            raise HandshakeError("client_DH_inner_data did not decrypt")
        g_b = int.from_bytes(inner.g_b, "big")
        if not 2 ** (2048 - 64) <= g_b <= DH_PRIME - 2 ** (2048 - 64):
            raise HandshakeError("g_b is out of the safe range")
        auth_key = AuthKey(pow(g_b, self.a, DH_PRIME).to_bytes(256, "big"))
        self._auth_key = auth_key
        return bytes(types.DhGenOk(self.nonce, self.server_nonce, auth_key.calc_new_nonce_hash(self.new_nonce, 1)))

    def _same_nonces(self, request) -> None:
        if (request.nonce, request.server_nonce) != (self.nonce, self.server_nonce) or not self.server_nonce:
            raise HandshakeError("the nonces do not match this exchange")


def plain_message(msg_id: int, body: bytes) -> bytes:
    """An unencrypted message: auth_key_id 0, message id, length, body."""
    return struct.pack("<qqi", 0, msg_id, len(body)) + body


def _prime31() -> int:
    while True:
        candidate = secrets.randbits(31) | (1 << 30) | 1
        if _is_prime(candidate):
            return candidate


def _is_prime(n: int) -> bool:
    if n % 2 == 0:
        return n == 2
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in (2, 3, 5, 7, 11, 13, 17):  # deterministic below 3.4e14
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True
