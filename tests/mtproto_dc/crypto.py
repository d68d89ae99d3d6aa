"""The server's side of MTProto 2.0 message encryption (x = 8), built on Telethon's own primitives."""

from __future__ import annotations

import os
import struct
from hashlib import sha256

from telethon.crypto import AES, AuthKey
from telethon.network.mtprotostate import MTProtoState


def client_message_decrypt(auth_key: AuthKey, packet: bytes) -> tuple[int, int, int, bytes]:
    """Returns (session_id, msg_id, seq_no, body) of a client's encrypted message; raises ValueError if forged."""
    msg_key = packet[8:24]
    aes_key, aes_iv = MTProtoState._calc_key(auth_key.key, msg_key, True)
    plain = AES.decrypt_ige(packet[24:], aes_key, aes_iv)
    if sha256(auth_key.key[88:120] + plain).digest()[8:24] != msg_key:
        raise ValueError("msg_key does not match: wrong auth key or tampered message")
    _salt, session_id, msg_id, seq_no, length = struct.unpack("<qqqii", plain[:32])
    return session_id, msg_id, seq_no, plain[32 : 32 + length]


def server_message_encrypt(auth_key: AuthKey, session_id: int, msg_id: int, seq_no: int, body: bytes) -> bytes:
    data = struct.pack("<qqqii", 0, session_id, msg_id, seq_no, len(body)) + body
    padding = os.urandom(-(len(data) + 12) % 16 + 12)
    msg_key = sha256(auth_key.key[96:128] + data + padding).digest()[8:24]
    aes_key, aes_iv = MTProtoState._calc_key(auth_key.key, msg_key, False)
    return struct.pack("<Q", auth_key.key_id) + msg_key + AES.encrypt_ige(data + padding, aes_key, aes_iv)
