"""One list of settings: the Python table, the JSON Schema and the docs agree."""

from __future__ import annotations

from fargo.project.config import schema
from fargo.project.settings import STAGE_SETTING_NAMES, TASK_SETTING_NAMES
from tests.conftest import REPO


def test_schema_has_exactly_the_settings() -> None:
    root = schema()
    task_keys = set(root["$defs"]["task_settings"]["properties"])
    stage_keys = set(root["$defs"]["stage"]["properties"]) - {"tasks"}
    top_keys = set(root["properties"]) - {"$schema", "app_name", "leave_behind", "tasks",
                                          "stages"}  # the app's own keys
    assert task_keys == set(TASK_SETTING_NAMES)
    assert stage_keys == set(TASK_SETTING_NAMES) | set(STAGE_SETTING_NAMES)
    assert top_keys == stage_keys


def test_docs_list_every_setting() -> None:
    text = (REPO / "docs" / "projects.md").read_text()
    for name in (*TASK_SETTING_NAMES, *STAGE_SETTING_NAMES):
        assert f"| `{name}` |" in text, name


def test_examples_ship_the_current_schema() -> None:
    shipped = (REPO / "src" / "fargo" / "project" / "config.schema.json").read_text()
    assert (REPO / "examples" / "etl-platform" / ".fargo" / "config.schema.json").read_text() \
        == shipped
