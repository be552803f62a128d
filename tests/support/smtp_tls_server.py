"""An SMTP server with TLS and AUTH for the tests, on aiosmtpd (Debian's python3-aiosmtpd).

Usage: smtp_tls_server.py PORT DUMP_DIR MODE CERT KEY [CREDENTIALS_FILE [MECHANISM ...]]
  MODE is starttls (STARTTLS offered and required before MAIL) or implicit (TLS from the first
  byte). CREDENTIALS_FILE holds the one user name and password accepted, UTF-8, one per line;
  with it AUTH is required. MECHANISMs (PLAIN, LOGIN) limit what is offered.
Each message accepted is written to DUMP_DIR/N.eml, after lines saying how it came:
  X-TLS: yes|no, X-Auth-Mechanism: PLAIN|LOGIN|none, X-Auth-User: NAME|none.
"""
import asyncio
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult

port, folder, mode, cert, key = sys.argv[1:6]
credentials = None
if len(sys.argv) > 6:
    with open(sys.argv[6], "rb") as f:
        user, password = f.read().decode("utf-8").split("\n")[:2]
    credentials = (user.encode("utf-8"), password.encode("utf-8"))
offered = set(sys.argv[7:]) or {"PLAIN", "LOGIN"}

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)


def authenticate(server, session, envelope, mechanism, data):
    ok = credentials is not None and (data.login, data.password) == credentials
    if ok:
        session.mp_mechanism = mechanism
    # handled=False: aiosmtpd answers a refusal with "535 5.7.8 Authentication credentials invalid".
    return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


class Dump:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        Dump.count += 1
        tls = server.transport.get_extra_info("ssl_object") is not None
        login = session.login_data.decode("utf-8") if session.login_data else "none"
        head = (
            f"X-TLS: {'yes' if tls else 'no'}\r\n"
            f"X-Auth-Mechanism: {getattr(session, 'mp_mechanism', 'none')}\r\n"
            f"X-Auth-User: {login}\r\n"
        ).encode("utf-8")
        tmp = os.path.join(folder, f".{Dump.count}.tmp")
        with open(tmp, "wb") as f:
            f.write(head + envelope.original_content)
        os.rename(tmp, os.path.join(folder, f"{Dump.count}.eml"))
        return "250 2.0.0 Ok: queued"


def factory():
    return SMTP(
        Dump(),
        hostname="localhost",
        tls_context=context if mode == "starttls" else None,
        require_starttls=mode == "starttls",
        auth_required=credentials is not None,
        # Implicit TLS is TLS too, though aiosmtpd only counts STARTTLS as such.
        auth_require_tls=mode == "starttls",
        auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN") if m not in offered],
        authenticator=authenticate,
    )


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory, "127.0.0.1", int(port), ssl=context if mode == "implicit" else None
    )
    print("ready", flush=True)
    await server.serve_forever()


asyncio.run(main())
