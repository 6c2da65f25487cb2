"""Chalice's Blueprint: jobs declared in chalicelib/, registered on the app later.

Loaded only by the projects that use one (`from fargo import Blueprint` loads this module).
"""

from __future__ import annotations

from fargo.app import App, TaskDefinition, _Registry


class Blueprint(_Registry):
    """A group of jobs in chalicelib/, registered on the app later (deferred, as in Chalice)."""

    def __init__(self, import_name: str) -> None:
        super().__init__()
        self.import_name = import_name

    def register_on(self, app: App, name_prefix: str) -> None:
        """app.register_blueprint(...): the jobs and workflows, their names prefixed."""
        for definition in self._pending:
            app._record(TaskDefinition(name_prefix + definition.name, definition.handler,
                                       definition.kind, dict(definition.settings)))
        for workflow in self._workflows:  # steps name functions: prefixes follow them
            workflow.name = name_prefix + str(workflow.name)
            app._workflows.append(workflow)
