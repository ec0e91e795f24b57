"""Write the generated part of docs/formats.md from the format registry and alias table.

Usage: python scripts/gen_format_docs.py [--check]

With --check, write nothing and exit 1 when docs/formats.md is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from genailog.ingest.formats.docs import splice

DOCS = Path(__file__).resolve().parents[1] / "docs" / "formats.md"


def main(argv: list[str]) -> int:
    current = DOCS.read_text(encoding="utf-8")
    text = splice(current)
    if "--check" in argv:
        if current != text:
            print(f"{DOCS} is out of date; run python scripts/gen_format_docs.py",
                  file=sys.stderr)
            return 1
        return 0
    DOCS.write_text(text, encoding="utf-8")
    print(f"wrote {DOCS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
