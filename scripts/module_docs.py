"""Write the inputs and outputs tables of the HCL module's README from its .tf files.

    python scripts/module_docs.py          # rewrite the README between its markers
    python scripts/module_docs.py --check  # exit 1 when the README is out of date

The tables sit between `<!-- BEGIN_TF_DOCS -->` and `<!-- END_TF_DOCS -->`, as terraform-docs
writes them, so either tool can maintain them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MODULE = Path(__file__).resolve().parent.parent / "src" / "fargo" / "synth" / "module"
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


def blocks(text: str, kind: str) -> dict[str, str]:
    """Each top-level `kind "name" { ... }` block's body, by name (braces balanced)."""
    found: dict[str, str] = {}
    for match in re.finditer(rf'^{kind} "([^"]+)" \{{', text, re.M):
        depth, index = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        found[match.group(1)] = text[match.end():index - 1]
    return found


def attribute(body: str, name: str) -> str | None:
    match = re.search(rf"^  {name}\s+= (.+)$", body, re.M)
    return match.group(1).strip() if match else None


def text_of(value: str | None) -> str:
    if value is None:
        return ""
    return value[1:-1].replace('\\"', '"') if value.startswith('"') else value


def cell(value: str) -> str:
    return value.replace("|", "\\|")


def tables(module: Path = MODULE) -> str:
    variables = blocks((module / "variables.tf").read_text(), "variable")
    outputs = blocks((module / "outputs.tf").read_text(), "output")
    lines = ["## Inputs", "", "| name | type | default | description |", "|---|---|---|---|"]
    for name, body in variables.items():
        kind = attribute(body, "type") or "any"
        if kind.startswith("map(object("):
            kind = "map(object) (below)"
        default = attribute(body, "default")
        shown = "required" if default is None else f"`{default}`"
        lines.append(f"| `{name}` | `{cell(kind)}` | {cell(shown)} | "
                     f"{cell(text_of(attribute(body, 'description')))} |")
    lines += ["", "## Outputs", "", "| name | description |", "|---|---|"]
    for name, body in outputs.items():
        lines.append(f"| `{name}` | {cell(text_of(attribute(body, 'description')))} |")
    return "\n".join(lines)


def rendered(readme: str, module: Path = MODULE) -> str:
    start, stop = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    return readme[:start] + "\n" + tables(module) + "\n" + readme[stop:]


def main(argv: list[str]) -> int:
    path = MODULE / "README.md"
    current = path.read_text()
    wanted = rendered(current)
    if "--check" in argv:
        if wanted != current:
            print(f"{path} is out of date: run python scripts/module_docs.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
