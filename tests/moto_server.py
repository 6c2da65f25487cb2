"""`python -m tests.moto_server PORT`: moto's server on 127.0.0.1:PORT, with tests/moto_fixes.

For tests that need a moto of their own (moto's state is global to its process).
"""

from __future__ import annotations

import logging
import os
import sys
import time

from tests import moto_fixes


def main(port: int) -> None:
    moto_fixes.apply()
    # Step Functions' service integrations call back into this same server.
    os.environ["MOTO_PORT"] = str(port)
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]))
