#!/usr/bin/env python3
"""An SMTP relay with the behaviours smtp-sink cannot script per message (aiosmtpd):

- a recipient whose local part starts with `defer` gets `451 4.3.0` at RCPT TO, one
  starting with `refuse` gets `550 5.1.1`; everyone else is accepted;
- with --rate N it behaves like Amazon SES at its maximum send rate: more than N
  transactions within any one second and MAIL FROM is answered
  `454 Throttling failure: Maximum sending rate exceeded.`

Every accepted message and every throttled transaction is one line on stdout:
`accepted <monotonic seconds> <recipient>` / `throttled <monotonic seconds>`.

Usage: scripted_relay.py PORT [--rate N]
"""

import argparse
import asyncio
import collections
import sys
import time

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, rate):
        self.rate = rate
        self.window = collections.deque()

    def say(self, line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.rate:
            now = time.monotonic()
            while self.window and now - self.window[0] >= 1.0:
                self.window.popleft()
            if len(self.window) >= self.rate:
                self.say(f"throttled {now:.4f}")
                return "454 Throttling failure: Maximum sending rate exceeded."
            self.window.append(now)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local.startswith("defer"):
            return "451 4.3.0 Try that one again later"
        if local.startswith("refuse"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            self.say(f"accepted {time.monotonic():.4f} {rcpt}")
        return "250 2.0.0 Message accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--rate", type=int, default=0)
    args = parser.parse_args()
    controller = Controller(Handler(args.rate), hostname="127.0.0.1", port=args.port)
    controller.start()
    sys.stderr.write(f"listening on {args.port}\n")
    sys.stderr.flush()
    try:
        asyncio.run(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
