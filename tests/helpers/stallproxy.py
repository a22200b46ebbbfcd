"""A TCP proxy in front of the test server that passes the handshake but holds any message carrying PATTERN:
a database that accepts the connection and then stops answering. Usage: stallproxy.py LISTEN TARGET PATTERN"""

import asyncio
import sys

LISTEN, TARGET, PATTERN = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()


async def pipe(reader, writer, stall):
    try:
        while data := await reader.read(65536):
            if stall and PATTERN in data:
                await asyncio.sleep(3600)
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    server_reader, server_writer = await asyncio.open_connection("127.0.0.1", TARGET)
    await asyncio.gather(pipe(client_reader, server_writer, True), pipe(server_reader, client_writer, False))


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
