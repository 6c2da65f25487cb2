"""Chalice's Blueprint: jobs declared in chalicelib/, registered on the app later.

Loaded only by the projects that use one (`from fargo import Blueprint` loads this module).
"""

from __future__ import annotations

from fargo.app import _Registry


class Blueprint(_Registry):
    """A group of jobs in chalicelib/, registered on the app later (deferred, as in Chalice)."""

    def __init__(self, import_name: str) -> None:
        super().__init__()
        self.import_name = import_name
