#!/usr/bin/env python3
"""A faulty SMTP relay: a TCP proxy in front of a healthy one (Postfix's smtp-sink) whose
first N sessions misbehave, each in the one way MODE names; every later session is passed
through untouched (the relay "recovers").

MODE:
- `silent`: accepts the connection and never says a word (no greeting); reads and drops
  whatever comes.
- `stall-data`: passes the session through up to the client's DATA, which it neither
  forwards nor answers: the client waits for the 354 forever. Nothing is delivered.
- `stall-eod`: passes the whole message through, its final dot included (the healthy relay
  takes it: delivered), then swallows the reply to the final dot and stays silent.
- `close-after-data`: hangs up, without a reply, on the client's DATA. Nothing delivered.
- `close-after-eod`: passes the whole message through, waits until the healthy relay has
  answered the final dot (delivered), then hangs up on the client without that reply.

Once it listens it says `listening <port>` on stdout. Each session is a line there too,
`session <n> faulty|healthy`, and each fault staged is `fault <n> <mode>` once it has
happened (for `stall-eod` and `close-after-eod`: once the healthy relay has the message).

Usage: fault_relay.py PORT UPSTREAM_PORT MODE FAULTY_SESSIONS
"""

import asyncio
import itertools
import sys

MODES = ("silent", "stall-data", "stall-eod", "close-after-data", "close-after-eod")


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def drain_until_eof(reader):
    """Reads and drops until the client hangs up (it gives up on its own timeout)."""
    try:
        while await reader.read(65536):
            pass
    except (ConnectionError, OSError):
        pass


def main():
    port, upstream, mode, faulty_sessions = (
        int(sys.argv[1]),
        int(sys.argv[2]),
        sys.argv[3],
        int(sys.argv[4]),
    )
    if mode not in MODES:
        sys.exit(f"unknown mode {mode}; one of {', '.join(MODES)}")
    numbers = itertools.count(1)

    async def session(client_r, client_w):
        n = next(numbers)
        faulty = n <= faulty_sessions
        say(f"session {n} {'faulty' if faulty else 'healthy'}")
        if faulty and mode == "silent":
            say(f"fault {n} {mode}")
            await drain_until_eof(client_r)
            client_w.close()
            return
        up_r, up_w = await asyncio.open_connection("127.0.0.1", upstream)
        swallow = False
        swallowed = asyncio.Event()

        async def replies():
            # Upstream → client, except a reply the fault swallows.
            try:
                while True:
                    data = await up_r.read(65536)
                    if not data:
                        break
                    if swallow:
                        swallowed.set()
                        continue
                    client_w.write(data)
                    await client_w.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                if not swallow:
                    client_w.close()

        pump = asyncio.ensure_future(replies())
        in_data = False
        try:
            while True:
                line = await client_r.readline()
                if not line:
                    break
                if not in_data:
                    command = line.strip().upper()
                    if faulty and command == b"DATA" and mode == "stall-data":
                        say(f"fault {n} {mode}")
                        await drain_until_eof(client_r)
                        break
                    if faulty and command == b"DATA" and mode == "close-after-data":
                        say(f"fault {n} {mode}")
                        client_w.transport.abort()
                        break
                    in_data = command == b"DATA"
                    up_w.write(line)
                else:
                    if line == b".\r\n":
                        in_data = False
                        if faulty and mode in ("stall-eod", "close-after-eod"):
                            swallow = True
                            up_w.write(line)
                            await up_w.drain()
                            # The healthy relay has answered the final dot: delivered.
                            await swallowed.wait()
                            say(f"fault {n} {mode}")
                            if mode == "close-after-eod":
                                client_w.transport.abort()
                            else:
                                await drain_until_eof(client_r)
                            break
                    up_w.write(line)
                await up_w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            up_w.close()
            client_w.close()
            pump.cancel()

    async def serve():
        server = await asyncio.start_server(session, "127.0.0.1", port)
        say(f"listening {port}")
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
