"""Verifies the DKIM signature of a message with dkimpy (Debian's python3-dkim), an
implementation independent of ours. The public key record comes from a file instead of DNS.
Usage: dkim_verify.py MESSAGE_FILE TXT_RECORD_FILE; exit 0 when the signature verifies."""
import sys

import dkim

message = open(sys.argv[1], "rb").read()
record = open(sys.argv[2], "rb").read().strip()


def dnsfunc(name, timeout=5):
    return record


ok = dkim.verify(message, dnsfunc=dnsfunc)
print("pass" if ok else "fail")
sys.exit(0 if ok else 1)
