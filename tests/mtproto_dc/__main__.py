"""Standalone loopback DC for benchmarks: python -m tests.mtproto_dc --keys FILE [--port N].

FILE holds one auth key per line as hex, optionally followed by a behaviour ('ok', 'delay:2',
'silent', 'close', '401:AUTH_KEY_UNREGISTERED' ...). Prints 'listening on HOST:PORT' once ready.
"""

import argparse
import asyncio

from tests.mtproto_dc.server import OK, Behaviour, LoopbackDC


async def main() -> None:
    parser = argparse.ArgumentParser(description="loopback Telegram DC")
    parser.add_argument("--keys", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    dc = LoopbackDC(args.host, args.port)
    with open(args.keys) as handle:
        for line in handle:
            parts = line.split()
            if parts:
                dc.add_key(bytes.fromhex(parts[0]), Behaviour.parse(parts[1]) if len(parts) > 1 else OK)
    server = await dc.serve()
    print(f"listening on {dc.address}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
