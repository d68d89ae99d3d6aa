"""What the DC answers, as real TL objects serialised by Telethon's own classes."""

from __future__ import annotations

import datetime as dt
import struct

from telethon.tl import types

RPC_RESULT = 0xF35C6D01
VECTOR = 0x1CB5C415
MSG_CONTAINER = 0x73F1F8DC
GZIP_PACKED = 0x3072CFA1
MSGS_ACK = 0x62D6B459


def rpc_result(req_msg_id: int, result: bytes) -> bytes:
    return struct.pack("<Iq", RPC_RESULT, req_msg_id) + result


def rpc_error(req_msg_id: int, code: int, message: str) -> bytes:
    return rpc_result(req_msg_id, bytes(types.RpcError(error_code=code, error_message=message)))


def vector(items: list[bytes]) -> bytes:
    return struct.pack("<Ii", VECTOR, len(items)) + b"".join(items)


def config(dc_id: int, host: str, ports: dict[int, int]) -> bytes:
    now = dt.datetime.now(dt.UTC)
    names = (
        "chat_size_max megagroup_size_max forwarded_count_max online_update_period_ms offline_blur_timeout_ms"
        " offline_idle_timeout_ms online_cloud_timeout_ms notify_cloud_delay_ms notify_default_delay_ms"
        " push_chat_period_ms push_chat_limit edit_time_limit revoke_time_limit revoke_pm_time_limit"
        " rating_e_decay stickers_recent_limit channels_read_media_period call_receive_timeout_ms"
        " call_ring_timeout_ms call_connect_timeout_ms call_packet_timeout_ms caption_length_max"
        " message_length_max"
    )
    ints = dict.fromkeys(names.split(), 1000)
    return bytes(
        types.Config(
            date=now,
            expires=now + dt.timedelta(hours=1),
            test_mode=False,
            this_dc=dc_id,
            dc_options=[types.DcOption(id=dc, ip_address=host, port=port) for dc, port in sorted(ports.items())],
            dc_txt_domain_name="loopback.invalid",
            me_url_prefix="https://t.me/",
            webfile_dc_id=dc_id,
            **ints,
        )
    )


def updates_state() -> bytes:
    return bytes(types.updates.State(pts=1, qts=0, date=dt.datetime.now(dt.UTC), seq=1, unread_count=0))


def pong(msg_id: int, ping_id: int) -> bytes:
    return bytes(types.Pong(msg_id=msg_id, ping_id=ping_id))


def difference_empty() -> bytes:
    return bytes(types.updates.DifferenceEmpty(date=dt.datetime.now(dt.UTC), seq=1))
