"""Write docs/schema.md from schemas/genailog.record.v2.schema.json.

Usage: python scripts/gen_schema_docs.py [--check]

With --check, write nothing and exit 1 when docs/schema.md is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from genailog.schema.docs import render_schema_docs
from genailog.schema.files import load_record_schema

DOCS = Path(__file__).resolve().parents[1] / "docs" / "schema.md"


def main(argv: list[str]) -> int:
    text = render_schema_docs(load_record_schema())
    if "--check" in argv:
        current = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
        if current != text:
            print(f"{DOCS} is out of date; run python scripts/gen_schema_docs.py", file=sys.stderr)
            return 1
        return 0
    DOCS.write_text(text, encoding="utf-8")
    print(f"wrote {DOCS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
