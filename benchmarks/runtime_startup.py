"""Cost of starting a job: `python -m fargo.runtime noop` against a bare `python -c pass`.

Run: python benchmarks/runtime_startup.py [runs]
     python benchmarks/runtime_startup.py --instructions   (needs valgrind)

Measured side by side in one run, the commands interleaved so that machine noise hits all alike:
- `python -c pass`: the bare interpreter;
- `python -m empty`: what `-m` itself costs (runpy), the floor of any `python -m` entrypoint;
- `python -m empty` without bytecode: the same floor when the module has no .pyc. The first
  `compile()` in a process builds CPython's AST types (`import _ast` alone costs that), so any
  import from source pays it before a line of its own code runs;
- the runtime with bytecode: fargo's runtime and app.py with their .pyc, as the image and the
  Lambda zip now ship them;
- the runtime without bytecode: the same files with no .pyc and PYTHONDONTWRITEBYTECODE=1, as
  the image ran before it carried bytecode (every start compiles app.py and the runtime);
- the runtime with bytecode and app.py without: fargo installed by pip (which compiles what it
  installs) running a project whose own code has no .pyc (a fresh checkout, a changed file,
  PYTHONDONTWRITEBYTECODE=1);
- a job that returns a dict, with bytecode: what logging a result adds.
Prints medians and p90 of each, the overheads over the bare interpreter, and fargo's own share:
the runtime's time over the `-m` floor of the same condition.

Wall-clock times on a shared 2-core machine drift by half from one run to the next.
`--instructions` runs each case once under callgrind instead and counts the instructions it
executes: the same count every time, whatever else the machine is doing, split into the
interpreter's own start, what the command runs (and how much of that is compiling source and
building CPython's AST types, which the first `compile()` in a process does), and the exit.
"""

from __future__ import annotations

import compileall
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fargo.project.interpreter import runtime_files

APP = ("from fargo import App\napp = App('bench')\n\n@app.task()\ndef noop(event):\n    pass\n"
       "\n@app.task()\ndef counts(event):\n    return {'rows': 120, 'files': ['a.csv']}\n")


def copy_runtime(target: Path) -> None:
    """fargo's runtime files (what the image and the zip carry), without any bytecode."""
    (target / "fargo" / "runtime").mkdir(parents=True)
    for name, path in runtime_files():
        shutil.copy(path, target / name)
    (target / "app.py").write_text(APP)
    (target / "empty.py").write_text("")


def summary(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
    return f"{label:52} median {statistics.median(times) * 1000:7.1f} ms   p90 {p90 * 1000:7.1f} ms"


Case = tuple[list[str], Path, dict[str, str]]


def cases_in(tmp: Path) -> dict[str, Case]:
    """Every case's command, working directory and environment, the runtime laid out in tmp."""
    cached, uncached, installed = tmp / "cached", tmp / "uncached", tmp / "installed"
    for root in (cached, uncached, installed):
        copy_runtime(root)
    for tree in (cached, installed / "fargo"):
        compileall.compile_dir(str(tree), quiet=1,
                               invalidation_mode=compileall.py_compile.PycInvalidationMode
                               .UNCHECKED_HASH)
    base = {k: v for k, v in os.environ.items() if not k.startswith("FARGO_")
            and k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    # PYTHONPATH puts the copy before any installed fargo, as the image's /app is
    return {
        "python -c pass": ([sys.executable, "-c", "pass"], cached, base),
        "python -m empty (the -m floor)": (
            [sys.executable, "-m", "empty"], cached, {**base, "PYTHONPATH": str(cached)}),
        "python -m empty, without bytecode": (
            [sys.executable, "-m", "empty"], uncached,
            {**base, "PYTHONPATH": str(uncached), "PYTHONDONTWRITEBYTECODE": "1"}),
        "fargo.runtime noop, with bytecode": (
            [sys.executable, "-m", "fargo.runtime", "noop"], cached,
            {**base, "PYTHONPATH": str(cached)}),
        "fargo.runtime noop, without bytecode": (
            [sys.executable, "-m", "fargo.runtime", "noop"], uncached,
            {**base, "PYTHONPATH": str(uncached), "PYTHONDONTWRITEBYTECODE": "1"}),
        "fargo.runtime noop, app.py without bytecode": (
            [sys.executable, "-m", "fargo.runtime", "noop"], installed,
            {**base, "PYTHONPATH": str(installed), "PYTHONDONTWRITEBYTECODE": "1"}),
        "fargo.runtime counts (returns a dict), with bytecode": (
            [sys.executable, "-m", "fargo.runtime", "counts"], cached,
            {**base, "PYTHONPATH": str(cached)}),
    }


# CPython functions whose inclusive instruction counts split a start into its parts.
PARTS = {
    "start": "Py_InitializeFromConfig",
    "main": "Py_RunMain",  # the command and the exit
    "compile": "Py_CompileStringObject",
    "ast types": "init_types",
    "exit": "Py_FinalizeEx",
}


def instructions(command: list[str], cwd: Path, env: dict[str, str], out: Path) -> dict[str, int]:
    """Instructions one run executes (callgrind), in all and per part of PARTS."""
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
                   cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    report = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out)],
                            capture_output=True, text=True, check=True).stdout
    counts: dict[str, int] = {}
    for line in report.splitlines():  # "  34,732,553 (34.20%)  path/file.c:function [lib]"
        match = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.+?)(?: \[.*\])?$", line)
        if match is None:
            continue
        where = match.group(2)
        function = "TOTAL" if where == "PROGRAM TOTALS" else where.rsplit(":", 1)[-1]
        value = int(match.group(1).replace(",", ""))
        counts[function] = max(counts.get(function, 0), value)  # recursion shows as name'2
    result = {part: counts.get(name, 0) for part, name in PARTS.items()}
    result["command"] = result.pop("main") - result["exit"]
    return {"total": counts["TOTAL"], **result}


def count_instructions() -> None:
    """--instructions: every case once under callgrind; the count does not drift with load."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        sys.exit("--instructions needs valgrind (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        rows = {label: instructions(*case, Path(tmp) / f"cg.{index}")
                for index, (label, case) in enumerate(cases_in(Path(tmp)).items())}
    print(f"instructions executed (millions), callgrind, Python {sys.version.split()[0]}")
    print(f"{'':52} {'total':>7} {'start':>7} {'command':>8} {'compile':>8} {'ast':>6} "
          f"{'exit':>6}")
    for label, row in rows.items():
        print(f"{label:52} {row['total'] / 1e6:7.1f} {row['start'] / 1e6:7.1f} "
              f"{row['command'] / 1e6:8.1f} {row['compile'] / 1e6:8.1f} "
              f"{row['ast types'] / 1e6:6.1f} {row['exit'] / 1e6:6.1f}")
    bare = rows["python -c pass"]["total"]
    for label in ("python -m empty, without bytecode", "fargo.runtime noop, with bytecode",
                  "fargo.runtime noop, without bytecode",
                  "fargo.runtime noop, app.py without bytecode",
                  "fargo.runtime counts (returns a dict), with bytecode"):
        extra = rows[label]["total"] - bare
        print(f"over the bare interpreter, {label}: {extra / 1e6:+.1f} M ({extra / bare:+.0%})")


def main(runs: int = 30) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cases = cases_in(Path(tmp))
        times: dict[str, list[float]] = {label: [] for label in cases}
        for _ in range(runs):
            for label, (command, cwd, env) in cases.items():
                start = time.perf_counter()
                subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=True)
                times[label].append(time.perf_counter() - start)
        print(f"{runs} runs each, interleaved, Python {sys.version.split()[0]}")
        for label, values in times.items():
            print(summary(label, values))
        bare = statistics.median(times["python -c pass"])
        for label in ("fargo.runtime noop, with bytecode", "fargo.runtime noop, without bytecode",
                      "fargo.runtime noop, app.py without bytecode",
                      "fargo.runtime counts (returns a dict), with bytecode"):
            print(f"overhead over the bare interpreter, {label.removeprefix('fargo.runtime ')}: "
                  f"{(statistics.median(times[label]) - bare) * 1000:+.1f} ms")
        floors = {"with bytecode": "python -m empty (the -m floor)",
                  "without bytecode": "python -m empty, without bytecode",
                  "app.py without bytecode": "python -m empty, without bytecode"}
        for condition, floor in floors.items():
            own = (statistics.median(times[f"fargo.runtime noop, {condition}"])
                   - statistics.median(times[floor]))
            print(f"fargo's own share over the -m floor, {condition}: {own * 1000:+.1f} ms")
        saved = (statistics.median(times["fargo.runtime noop, without bytecode"])
                 - statistics.median(times["fargo.runtime noop, with bytecode"]))
        print(f"bytecode saves per start: {saved * 1000:.1f} ms")


if __name__ == "__main__":
    if sys.argv[1:] == ["--instructions"]:
        count_instructions()
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
