"""Run every ``$ genailog ...`` example in README.md and write its real output under it.

Usage: python scripts/readme_examples.py [--check] [PAGE.md]  (default: README.md; a page
whose examples run from the repository root)

A console block whose first line starts with ``$ genailog`` (continued with ``\\``) is run
from a scratch copy of the repository's sample inputs (so examples that write files write
there), with a fixed terminal width; stdout and stderr, as a user would see them, replace
the lines after the command. Blocks with several ``$`` lines are left as they are (they
show a workflow, not one output). With --check, write nothing and exit 1 when an output
differs.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"```console\n(?P<body>.*?)```", re.DOTALL)
#: What each example may read, copied into the scratch folder.
INPUTS = ("sample_logs", "docs/examples", "tests/fixtures/real")


def _command(body: str) -> tuple[str, list[str]] | None:
    lines = body.splitlines()
    if not lines or not lines[0].startswith("$ genailog") or sum(
            line.startswith("$ ") for line in lines) > 1:
        return None
    taken = [lines[0]]
    for line in lines[1:]:
        if not taken[-1].endswith("\\"):
            break
        taken.append(line)
    text = "\n".join(taken)
    args = shlex.split(text[2:].replace("\\\n", " "))
    return text, args


def _run(args: list[str], scratch: Path) -> str:
    env = dict(os.environ, COLUMNS="220", TERM="dumb", NO_COLOR="1", GENAILOG_NO_CACHE="1")
    done = subprocess.run([sys.executable, "-m", *args], cwd=scratch, env=env,
                          capture_output=True, text=True, check=False)
    lines = [line.rstrip() for line in (done.stdout + done.stderr).splitlines()]
    while lines and not lines[0]:
        lines.pop(0)  # rich pads a table with an empty first row
    return "\n".join(lines).rstrip("\n")


def render(text: str, scratch: Path) -> str:
    def replace(match: re.Match[str]) -> str:
        found = _command(match["body"])
        if found is None:
            return match.group(0)
        command, args = found
        output = _run(args, scratch)
        return f"```console\n{command}\n{output}\n```" if output else (
            f"```console\n{command}\n```")

    return BLOCK.sub(replace, text)


def main(argv: list[str]) -> int:
    pages = [Path(a) for a in argv if not a.startswith("--")]
    page = pages[0] if pages else README
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for name in INPUTS:
            shutil.copytree(ROOT / name, scratch / name)
        current = page.read_text(encoding="utf-8")
        text = render(current, scratch)
    if "--check" in argv:
        if text != current:
            print(f"{page} examples are out of date; run python scripts/readme_examples.py "
                  f"{page}", file=sys.stderr)
            return 1
        return 0
    page.write_text(text, encoding="utf-8")
    print(f"wrote {page}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
