"""`python -m fargo.runtime TASK`: the entrypoint of every container and local run.

`python -m fargo.runtime --describe` prints the project's jobs and workflows as JSON instead
(fargo reads them so from the project's own interpreter).
"""

import sys

if sys.argv[1:] == ["--describe"]:
    from fargo.runtime.describe import main as describe

    sys.exit(describe())

from fargo.runtime.run import main

sys.exit(main(sys.argv[1:]))
