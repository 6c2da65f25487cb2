"""Every path fargo keeps inside a project, in one place.

`.fargo/` holds what the team commits (config, schema, policies) and what fargo writes for
itself (local runs, builds, deploy packages), which the scaffold's .gitignore leaves out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CONFIG_DIR = ".fargo"
CONFIG_FILE = ".fargo/config.json"  # as messages name it, relative to the project
SKIP_DIRS = {"__pycache__", ".fargo", ".git", "tests", ".venv", "venv", "node_modules",
             ".pytest_cache", ".mypy_cache"}


@dataclass(frozen=True)
class ProjectPaths:
    root: Path

    @property
    def config_dir(self) -> Path:
        return self.root / CONFIG_DIR

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def local(self) -> Path:
        """fargo up's and fargo invoke's state: the run store, logs, the lock, large events."""
        return self.config_dir / "local"

    @property
    def runs_db(self) -> Path:
        return self.local / "runs.db"

    def replay_db(self, name: str) -> Path:
        """A replay's own run history (fargo up --from/--speed): never the real one."""
        return self.local / f"replay-{name}.db"

    def replays(self) -> list[Path]:
        """Every replay history, newest last."""
        return sorted(self.local.glob("replay-*.db"), key=lambda p: p.stat().st_mtime)

    @property
    def logs(self) -> Path:
        return self.local / "logs"

    @property
    def up_lock(self) -> Path:
        return self.local / "up.lock"

    @property
    def events(self) -> Path:
        return self.local / "events"

    def build(self, stage: str) -> Path:
        """fargo build's output for a stage: image context, Lambda zip, wheel cache."""
        return self.config_dir / "build" / stage

    def deploy(self, stage: str) -> Path:
        """fargo package's default output for a stage (Terraform root and state)."""
        return self.config_dir / "deploy" / stage


def project_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(archive name, path) of the project code: app.py, top-level modules, chalicelib/.

    Never a dotfile (`chalicelib/.env`), and never a file whose real path is outside the
    project (a symlink to a home directory would ship whatever it points at).
    """
    real_root = root.resolve()

    def shipped(path: Path) -> bool:
        relative = path.relative_to(root)
        return (path.is_file() and not (set(relative.parts) & SKIP_DIRS)
                and not any(part.startswith(".") for part in relative.parts)
                and path.suffix != ".pyc" and path.resolve().is_relative_to(real_root))

    for path in sorted(root.glob("*.py")):
        if shipped(path):
            yield path.name, path
    lib = root / "chalicelib"
    if lib.is_dir() and lib.resolve().is_relative_to(real_root):
        for path in sorted(lib.rglob("*")):
            if shipped(path):
                yield path.relative_to(root).as_posix(), path
