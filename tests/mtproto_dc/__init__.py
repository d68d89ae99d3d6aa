"""A loopback Telegram data centre: MTProto 2.0 over TCP (TcpFull), scripted per auth key."""

from tests.mtproto_dc.server import Behaviour, LoopbackDC

__all__ = ["Behaviour", "LoopbackDC"]
