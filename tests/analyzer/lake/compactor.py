"""Test-only: one compaction run in its own process, to be killed at chosen or random moments.

    python tests/analyzer/lake/compactor.py LAKE_SETTINGS_JSON NOW_NS BLOCK_AT_CALL

The clock always says NOW_NS. If BLOCK_AT_CALL > 0, the clock's call number BLOCK_AT_CALL prints
`blocked` and waits forever: with one partition to compact, call 3 is the one that stamps the
commit record, so the process stops with outputs published and nothing committed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from analyzer.lake.compaction import compact
from shared.settings.lake import LakeSettings


def main(settings: LakeSettings, now: int, block_at: int) -> None:
    calls = 0

    def clock() -> int:
        nonlocal calls
        calls += 1
        if calls == block_at:
            print("blocked", flush=True)
            while True:
                time.sleep(60)
        return now

    print("started", flush=True)
    report = compact(settings, clock)
    print(f"done {report.partitions} {report.rows}", flush=True)


if __name__ == "__main__":
    main(LakeSettings.model_validate_json(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
