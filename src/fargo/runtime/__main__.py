"""`python -m fargo.runtime TASK`: the entrypoint of every container and local run."""

import sys

from fargo.runtime.run import main

sys.exit(main(sys.argv[1:]))
