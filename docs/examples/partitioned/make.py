"""Write this folder's example: hive-partitioned JSONL, one file per day and hour.

Run from this folder: python make.py (deterministic; the files are committed).
"""

import json
import random
from pathlib import Path

rng = random.Random(19)
for day in ("2026-11-28", "2026-11-29"):
    for hour in (9, 13, 17):
        folder = Path(f"date={day}/hour={hour:02d}")
        folder.mkdir(parents=True, exist_ok=True)
        lines = []
        for i in range(6):
            model = ("gpt-4.1-mini", "claude-sonnet-4")[i % 2]
            lines.append(json.dumps({
                "timestamp": f"{day}T{hour:02d}:{i * 7:02d}:00Z", "model": model,
                "input_tokens": rng.randint(200, 900), "output_tokens": rng.randint(20, 300),
                "latency_ms": rng.randint(300, 2500), "status": "ok" if i != 5 else "error",
                "app": "support-bot"}))
        (folder / "part-0.jsonl").write_text("\n".join(lines) + "\n")
