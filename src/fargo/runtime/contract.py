"""The runtime contract: what every job process is given and what its exit code means.

One home for these values: the local runner, the AWS operations and the runtime all read them
from here, and tests check that the HCL module sets the same variables. Standard library only,
no imports at all: it loads with every job.
"""

EXIT_OK = 0
EXIT_FAILED = 1  # the handler raised
EXIT_USAGE = 2  # no such job, no app, a bad event or bad runtime settings
EXIT_TIMEOUT = 124  # the job ran past its timeout (as timeout(1))
EXIT_TERMINATED = 143  # stopped by SIGTERM (128 + 15)

# Set for every job, locally and in AWS (the module's task definitions and functions).
APP = "FARGO_APP"
STAGE = "FARGO_STAGE"
TASK = "FARGO_TASK"
TIMEOUT = "FARGO_TIMEOUT"
MEMORY = "FARGO_MEMORY"  # MiB: the context's memory_limit_in_mb on Fargate and locally
JOB_VARIABLES = (APP, STAGE, TASK, TIMEOUT, MEMORY)
# Set per run: by the schedule (its target input), by fargo run / invoke, or by fargo up.
RUN_ID = "FARGO_RUN_ID"
ATTEMPT = "FARGO_ATTEMPT"
SCHEDULED_TIME = "FARGO_SCHEDULED_TIME"
EVENT = "FARGO_EVENT"
EVENT_FILE = "FARGO_EVENT_FILE"
PROJECT_DIR = "FARGO_PROJECT_DIR"
RESERVED_PREFIX = "FARGO_"

TIMEOUT_MAX = 30 * 24 * 3600  # a month: the watchdog needs a bound it can arm


def process_name(run_id: str) -> bytes:
    """The name (/proc/<pid>/comm, 15 bytes at most) of a job forked by fargo up's launcher.

    A forked job keeps its launcher's environment block, so recovery looks for this instead.
    """
    import hashlib

    return b"fj" + hashlib.sha1(run_id.encode()).hexdigest()[:13].encode()
