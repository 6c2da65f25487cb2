"""`fargo import-chalice PATH`: write .fargo/ for a Chalice project; report every setting."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from fargo.chalice_import.mapping import Imported, Row, import_project
from fargo.chalice_import.reader import read_app
from fargo.cli.output import notice, out, print_json
from fargo.files import write_atomic
from fargo.problems import Problem, ProblemsError
from fargo.project.config import schema_path
from fargo.project.paths import project_files

SCHEMA = ".fargo/config.schema.json"


def merged(existing: dict[str, Any], imported: dict[str, Any]) -> dict[str, Any]:
    """The existing config with what the import maps written over it, key by key.

    Settings the import knows nothing of (subnets, a region, alerts, ...) stay as they are.
    """
    result = dict(existing)
    for key, value in imported.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def planned_files(imported: Imported, target: Path) -> tuple[dict[str, bytes], list[str]]:
    """The files to write, and notes on what is kept as the user left it."""
    config = imported.config
    kept: list[str] = []
    current = target / ".fargo" / "config.json"
    if current.is_file():
        try:
            existing = json.loads(current.read_text(encoding="utf-8"))
        except ValueError:
            existing = None
        if isinstance(existing, dict):
            config = merged(existing, config)
    files = {
        ".fargo/config.json": (json.dumps(config, indent=2) + "\n").encode(),
        SCHEMA: schema_path().read_bytes(),
    }
    for name, data in sorted(imported.policies.items()):
        if (target / ".fargo" / name).is_file():  # perhaps fixed by hand: never overwritten
            if (target / ".fargo" / name).read_bytes() != data:
                kept.append(f".fargo/{name} differs from the Chalice policy and is kept as it "
                            "is (fargo does not overwrite a policy file; delete it to take "
                            "Chalice's)")
            continue
        files[f".fargo/{name}"] = data
    return files, kept


def report(imported: Imported, functions: list[str]) -> None:
    by_function: dict[str, list[Row]] = {}
    for row in imported.rows:
        by_function.setdefault(row.function, []).append(row)
    for name in functions:
        table = Table(title=f"{name}", title_justify="left")
        for column in ("stage", "Chalice setting", "value", "from", "fargo"):
            table.add_column(column)
        for row in by_function.get(name, []):
            table.add_row(row.stage, row.setting, row.chalice, row.source, row.fargo)
        out.print(table)
    for note in imported.notes:
        notice(note)


@click.command(name="import-chalice")
@click.argument("path", type=click.Path(file_okay=False))
@click.option("--fargate", "fargate_names", help="Comma-separated functions to move to Fargate.")
@click.option("--fargate-all-scheduled", is_flag=True, help="Move every scheduled function.")
@click.option("--leave-behind", "leave_names",
              help="Comma-separated handlers fargo does not carry (SNS, SQS, streams, "
                   "websockets) that stay deployed by Chalice; without it they are errors.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Write the fargo project here (default: PATH itself, next to .chalice/).")
@click.option("--dry-run", is_flag=True, help="Print the report and the diff; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def import_chalice(path: str, fargate_names: str | None, fargate_all_scheduled: bool,
                   leave_names: str | None, out_dir: str | None, dry_run: bool,
                   as_json: bool) -> None:
    """Bring a Chalice project over without changing its code."""
    root = Path(path).resolve()
    if not root.is_dir():
        raise ProblemsError([Problem(f"{path} is not a directory", key="PATH")])
    if fargate_names and fargate_all_scheduled:
        raise ProblemsError([Problem("use --fargate or --fargate-all-scheduled, not both",
                                     key="--fargate")])
    app, parsed_because = read_app(root)
    fargate = {n.strip() for n in (fargate_names or "").split(",") if n.strip()}
    leave = {n.strip() for n in (leave_names or "").split(",") if n.strip()}
    imported = import_project(root, app, fargate, fargate_all_scheduled, leave)
    if parsed_because:
        imported.notes.insert(0, f"app.py was read without running it ({parsed_because}): "
                              "functions whose names are computed are not found")
    if not as_json:
        report(imported, sorted({f.name for f in app.functions}))
    target = Path(out_dir).resolve() if out_dir else root
    files, kept = planned_files(imported, target)
    for note in kept:
        notice(note)
    if target != root:  # the whole project: every top-level module, chalicelib/, requirements
        for name, source in project_files(root):
            files[name] = source.read_bytes()
        if (root / "requirements.txt").is_file():
            files["requirements.txt"] = (root / "requirements.txt").read_bytes()
    changed = {n: d for n, d in files.items()
               if not (target / n).is_file() or (target / n).read_bytes() != d}
    if as_json:
        from dataclasses import asdict

        print_json({"rows": [asdict(r) for r in imported.rows], "notes": imported.notes,
                    "changed": sorted(changed), "dry_run": dry_run})
        if not dry_run:
            for name, data in changed.items():
                write_atomic(target / name, data)
        return
    if dry_run:
        for name, data in changed.items():
            if name == SCHEMA:  # fargo's own file, written as shipped: no need to read it
                out.print(f"{SCHEMA}: fargo's JSON Schema, written as shipped")
                continue
            old = (target / name).read_text(errors="replace").splitlines(keepends=True) \
                if (target / name).is_file() else []
            new = data.decode(errors="replace").splitlines(keepends=True)
            out.print("".join(difflib.unified_diff(old, new, f"a/{name}", f"b/{name}")),
                      markup=False, highlight=False, end="")
        out.print(f"dry run: {len(changed)} files would change" if changed
                  else "dry run: nothing would change")
        return
    if not changed:
        out.print("Nothing to change: the fargo project already matches the Chalice project.")
        return
    for name, data in changed.items():
        write_atomic(target / name, data)
    out.print(f"Wrote {len(changed)} files to {target}: "
              + ", ".join(sorted(changed)))
    out.print(f"Next: fargo -C {target} validate && fargo -C {target} ls")
