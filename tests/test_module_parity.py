"""Where the HCL module must repeat a Python rule, the two copies agree.

Terraform cannot call Python, so the module spells out names, limits, defaults and the runtime
contract again; these tests read the module's text and hold each copy against its Python home.
(The deployed module's `jobs` output is compared with the model in test_deploy.)
"""

from __future__ import annotations

import re

import pytest

from fargo import limits
from fargo.project import names
from fargo.project.settings import BY_NAME, FARGATE_DEFAULTS, LAMBDA_DEFAULTS
from fargo.runtime import contract
from fargo.synth.package import module_source

MODULE = module_source()


def tf(name: str) -> str:
    return (MODULE / name).read_text(encoding="utf-8")


def as_python(template: str) -> str:
    """An HCL name template with the module's variables replaced by sample values."""
    for hcl, value in (("${var.app_name}", "APP"), ("${var.stage}", "STAGE"),
                       ("${local.prefix}", "APP-STAGE"), ("${each.key}", "JOB"), ("${k}", "JOB")):
        template = template.replace(hcl, value)
    return template


def test_names_agree() -> None:
    main, outputs, operations = tf("main.tf"), tf("outputs.tf"), tf("operations.tf")
    assert 'prefix    = "${var.app_name}-${var.stage}"' in main
    lambda_group, fargate_group = re.search(
        r'name\s+= each\.value\.compute == "lambda" \? "([^"]+)" : "([^"]+)"', main).groups()
    assert as_python(lambda_group) == names.job_log_group("APP", "STAGE", "JOB", "lambda")
    assert as_python(fargate_group) == names.job_log_group("APP", "STAGE", "JOB", "fargate")
    runs = re.search(r'runs_log_group\s+= "([^"]+)"', operations).group(1)
    assert as_python(runs) == names.runs_log_group("APP", "STAGE")
    job_name = re.search(r'\n\s+name\s+= "([^"]+)"\n', outputs).group(1)
    assert as_python(job_name) == names.job_name("APP", "STAGE", "JOB")
    group_prefix = re.search(r'group_prefix\s+= "([^"]+)"', operations).group(1)
    assert names.task_group(names.job_name("APP", "STAGE", "JOB")).startswith(
        as_python(group_prefix))
    assert re.search(r'group_name\s+= local\.prefix', main)
    assert names.schedule_group("APP", "STAGE") == "APP-STAGE"


def test_the_stage_resource_names_agree() -> None:
    """Every <app>-<stage>-<suffix> the module names is in names.STAGE_SUFFIXES: the home that
    the length and collision checks read."""
    text = "".join(tf(path.name) for path in sorted(MODULE.glob("*.tf")))
    found = set(re.findall(r'"\$\{local\.prefix\}-([a-z][a-z-]*)"', text))
    found |= set(re.findall(r'\$\{local\.use_scheduler \? "([a-z]+)" : "([a-z]+)"\}',
                            text)[0])
    assert found == set(names.STAGE_SUFFIXES)


def test_failure_stop_codes_agree() -> None:
    listed = re.search(r'stopCode = \[([^\]]+)\]', tf("operations.tf")).group(1)
    assert tuple(re.findall(r'"(\w+)"', listed)) == names.FAILURE_STOP_CODES


def test_runtime_contract_agrees() -> None:
    ecs = tf("ecs.tf")
    block = ecs[ecs.index("job_environment"):]
    assert tuple(re.findall(r"(FARGO_\w+)\s+=", block)) == contract.JOB_VARIABLES
    assert f'name       = "{names.CONTAINER}"' in ecs
    assert f'awslogs-stream-prefix = "{names.LOG_STREAM_PREFIX}"' in ecs
    assert 'entryPoint = ["python", "-m", "fargo.runtime"]' in ecs
    schedules = tf("schedules.tf")
    for variable in (contract.SCHEDULED_TIME, contract.ATTEMPT, contract.RUN_ID):
        assert f'name = "{variable}"' in schedules, variable
    platform = re.search(r'variable "platform_version" \{[^}]*default\s+= "([^"]+)"',
                         tf("variables.tf")).group(1)
    assert platform == names.PLATFORM_VERSION


def _optional_default(name: str) -> str:
    match = re.search(rf"\n\s+{name}\s+= optional\(\w+, ([^)]+)\)", tf("variables.tf"))
    assert match, name
    return match.group(1).strip('"')


@pytest.mark.parametrize(("name", "expected"), [
    ("compute", BY_NAME["compute"].default), ("timezone", BY_NAME["timezone"].default),
    ("enabled", str(BY_NAME["enabled"].default).lower()),
    ("cpu", str(BY_NAME["cpu"].default)), ("memory", str(FARGATE_DEFAULTS["memory"])),
    ("architecture", BY_NAME["architecture"].default),
    ("spot", str(BY_NAME["spot"].default).lower()),
    ("timeout", str(FARGATE_DEFAULTS["timeout"])),
    ("log_retention_days", str(BY_NAME["log_retention_days"].default)),
])
def test_job_defaults_agree(name: str, expected: str) -> None:
    assert _optional_default(name) == expected


def test_limits_agree() -> None:
    variables = tf("variables.tf")
    table = {}
    for cpu, choices in re.findall(r"j\.cpu == (\d+) \? ([^:]+?) :", variables):
        if choices.startswith("range"):
            start, stop, step = map(int, re.findall(r"\d+", choices))
            table[int(cpu)] = list(range(start, stop, step))
        else:
            table[int(cpu)] = [int(x) for x in re.findall(r"\d+", choices)]
    assert table == {cpu: limits.fargate_memory_choices(cpu) for cpu in limits.FARGATE_SIZES}
    retention = re.search(r"contains\(\[([\d, ]+)\], j\.log_retention_days\)", variables)
    assert tuple(int(x) for x in retention.group(1).split(",")) == limits.LOG_RETENTION_DAYS
    low, high = limits.LAMBDA_MEMORY
    assert (f"j.memory >= {low} && j.memory <= {high} && "
            f"j.timeout <= {limits.LAMBDA_TIMEOUT_MAX}") in variables
    assert LAMBDA_DEFAULTS == {"memory": 128, "timeout": 60}
    storage_low, storage_high = limits.FARGATE_EPHEMERAL_GIB
    assert f">= {storage_low} && coalesce(j.ephemeral_storage_gib, 21) <= {storage_high}" in \
        variables


def test_module_readme_tables_are_current() -> None:
    """The README's inputs and outputs are generated: `python scripts/module_docs.py`."""
    import importlib.util

    from tests.conftest import REPO

    spec = importlib.util.spec_from_file_location("module_docs", REPO / "scripts" /
                                                  "module_docs.py")
    assert spec is not None and spec.loader is not None
    docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docs)
    readme = (MODULE / "README.md").read_text()
    assert docs.rendered(readme) == readme, "run: python scripts/module_docs.py"
    everything = "".join(p.read_text() for p in MODULE.glob("*.tf"))
    for kind in ("variable", "output"):
        for name, body in docs.blocks(tf(f"{kind}s.tf"), kind).items():
            assert docs.attribute(body, "description"), f"{kind} {name} has no description"
    for name in docs.blocks(tf("variables.tf"), "variable"):
        assert f"var.{name}" in everything, f"variable {name} is declared but never used"


def test_the_runner_agrees() -> None:
    """The runner's numbers, names and defaults are those of project/runner.py and names.py."""
    from fargo.project import runner

    text = tf("runner.tf")

    def local(name: str) -> str:
        found = re.search(rf"^\s*{name}\s*=\s*(.+)$", text, re.M)
        assert found, name
        return found.group(1).strip()

    assert local("runner_retry_base_seconds") == str(runner.RETRY_BASE_SECONDS)
    assert local("runner_retry_max_seconds") == str(runner.RETRY_MAX_SECONDS)
    assert local("runner_queue_poll_seconds") == str(runner.QUEUE_POLL_SECONDS)
    assert local("runner_grace_seconds") == "{ " + ", ".join(
        f"{k} = {v}" for k, v in runner.GRACE_SECONDS.items()) + " }"
    assert as_python(local("runner_name").strip('"')) == names.runner("APP", "STAGE")
    assert as_python(local("runner_group_prefix").strip('"')) + "JOB" == \
        names.runner_task_group(names.job_name("APP", "STAGE", "JOB"))
    age = re.search(r'variable "maximum_event_age_seconds" \{[^}]*default\s+= (\d+)',
                    tf("variables.tf"))
    assert age and int(age.group(1)) == runner.START_DELAY_SECONDS
    for setting in ("retries", "retry_timeouts", "overlap"):
        default = BY_NAME[setting].default
        expected = str(default).lower() if isinstance(default, bool) else (
            f'"{default}"' if isinstance(default, str) else str(default))
        assert re.search(rf"^\s*{setting}\s*= optional\(\w+, {re.escape(expected)}\)$",
                         tf("variables.tf"), re.M), setting
