"""Build hook: compile genailog's C scanner (genailog/_scan.c) into the wheel.

The scanner vouches for clean JSONL lines in one pass (docs/architecture.md, "The JSONL
reader"); without it genailog works the same, only slower, so a machine with no C
compiler still installs: the hook says why it could not build and goes on.
``GENAILOG_NO_EXTENSION=1`` skips the build on purpose.

Run ``python hatch_build.py`` to build the module in place in a development checkout, or
``python hatch_build.py FOLDER FLAG...`` to build it into FOLDER with extra compiler flags
(``.ci/run`` builds a sanitized copy that way).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).parent / "genailog" / "_scan.c"
FLAGS = ("-O2", "-fPIC", "-shared", "-std=c11", "-Wall", "-Wextra", "-fno-strict-aliasing")


def module_name() -> str:
    return "_scan" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so")


def compile_scanner(folder: Path, extra: Sequence[str] = ()) -> Path | None:
    """Compile the scanner into ``folder`` (``extra``: flags after the usual ones); None
    (with the reason on stderr) when the machine cannot."""
    if os.environ.get("GENAILOG_NO_EXTENSION") == "1":
        print("genailog: GENAILOG_NO_EXTENSION=1, not building the C scanner",
              file=sys.stderr)
        return None
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    target = folder / module_name()
    # built beside, then renamed over the old module: a process that has it loaded keeps
    # its copy instead of seeing the file change under it
    building = folder / f".{target.name}.{os.getpid()}"
    command = [*compiler, *FLAGS, *extra, f"-I{sysconfig.get_paths()['include']}",
               str(SOURCE), "-o", str(building)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        print(f"genailog: no C compiler ({exc}); installing without the C scanner "
              "(JSONL reads are slower)", file=sys.stderr)
        return None
    if done.returncode != 0:
        building.unlink(missing_ok=True)
        print(f"genailog: could not compile the C scanner; installing without it (JSONL "
              f"reads are slower):\n{done.stderr.strip()}", file=sys.stderr)
        return None
    os.replace(building, target)
    return target


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run as a script in a checkout without hatchling
    BuildHookInterface = object  # type: ignore[assignment,misc]


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc,valid-type]
    """Compiles the scanner; an editable install gets it beside the sources."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        if version == "editable":
            compile_scanner(SOURCE.parent)
            return
        folder = Path(tempfile.mkdtemp(prefix="genailog-build-"))
        built = compile_scanner(folder)
        if built is None:
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["force_include"][str(built)] = f"genailog/{built.name}"


if __name__ == "__main__":
    into = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE.parent
    sys.exit(0 if compile_scanner(into, sys.argv[2:]) else 1)
