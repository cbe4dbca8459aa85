"""moto's S3 server, with each object write atomic.

moto checks a conditional PUT (`If-None-Match: *`, which Enishi's commits
use to claim the next log version) and stores the object in two steps, on
one thread per request: two writers racing for one key can both be told they
won, and the later object replaces the earlier. Real S3 and MinIO do not let
that happen. Serializing moto's object writes gives the tests the store they
are meant to run against.

Usage: python3 moto_atomic.py -H HOST -p PORT (moto_server's arguments).
"""

import sys
import threading

from moto.s3.responses import S3Response
from moto.server import main

_writes = threading.Lock()


def _serialized(write):
    def locked(self, *args, **kwargs):
        with _writes:
            return write(self, *args, **kwargs)

    return locked


for _name in ("put_object", "copy_object", "_complete_multipart_body"):
    setattr(S3Response, _name, _serialized(getattr(S3Response, _name)))

sys.exit(main())
