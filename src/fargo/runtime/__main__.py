"""`python -m fargo.runtime TASK`: the entrypoint of every container and local run.

`python -m fargo.runtime --describe` prints the project's jobs and workflows as JSON instead
(fargo reads them so from the project's own interpreter).
"""

import gc
import sys

# Start-up makes thousands of objects that live as long as the job: collecting them costs time
# and frees nothing. The runtime freezes them and turns the collector on before app.py loads.
gc.disable()

if sys.argv[1:] == ["--describe"]:
    gc.enable()
    from fargo.runtime.describe import main as describe

    sys.exit(describe())

from fargo.runtime.run import main  # noqa: E402 - after gc.disable()

sys.exit(main(sys.argv[1:]))
