"""Figures of one mutmut run (scripts/mutate.sh), and the table for docs/mutation.md.

    mutation_report.py WORKDIR MODULE SECONDS TESTS   → one JSON line
    mutation_report.py --table results.jsonl          → the Markdown table (last run per module)

Kill rate = (killed + timed out) / every mutant generated; mutants no test reaches count as
survivors (they are bugs nothing would notice).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

KILLED = {1, 3, 36, 24, -24, 152, 255, 37}  # a failing test, a timeout, the type checker
SURVIVED = {0, 5, 33}  # passed, or no test reached it


def one(work: Path, module: str, seconds: int, tests: str) -> dict[str, object]:
    meta = work / "mutants" / (module + ".meta")
    codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
    counts = Counter("killed" if c in KILLED else "survived" if c in SURVIVED
                     else "not run" if c is None else "other" for c in codes.values())
    total = len(codes)
    rate = round(100 * counts["killed"] / total) if total else 0
    survivors = sorted(k for k, c in codes.items() if c in SURVIVED)
    return {"module": module, "mutants": total, "killed": counts["killed"],
            "survived": counts["survived"], "not_run": counts["not run"] + counts["other"],
            "rate": rate, "seconds": seconds, "tests": tests, "survivors": survivors}


def table(results: Path) -> str:
    last: dict[str, dict[str, object]] = {}
    for line in results.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            last[str(row["module"])] = row
    lines = ["| module | killed | mutants | survived | not run | minutes | tests |",
             "|---|---|---|---|---|---|---|"]
    for row in last.values():
        lines.append(f"| {row['module']} | {row['rate']} % | {row['mutants']} | {row['survived']}"
                     f" | {row['not_run']} | {int(row['seconds']) / 60:.1f} | {row['tests']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1] == "--table":
        sys.stdout.write(table(Path(sys.argv[2])))
    else:
        print(json.dumps(one(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4])))
