"""Simulator -> collector -> lake -> `spreads`/`opportunities`: the analyzer finds the arbitrages the
simulator's dislocations created, on the right venue pairs and at the right times, and none else.

Two markets run side by side (each a simulator thread and a real collector process writing its own
lake): one with a 40 bps dislocation of one venue/symbol for 2.5 s about every 5 s, one with
dislocations off. Noise and volatility are small, so nothing but a dislocation clears the fees
(10-20 bps for a pair). 40 bps, not 30: ETH-BTC quotes 4-6 bps wide at its tick, and a trade that
takes the best level widens it further for a moment, which split 30 bps runs on that symbol.
The simulator reports the dislocations it started (`SimulatorThread.dislocations`, from its seed).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from analyzer.analysis import Scope
from analyzer.opportunities import opportunities
from analyzer.spreads import spreads
from shared.events import Channel
from shared.lake.reader import LakeReader
from shared.settings import Settings, settings_from_mapping
from sim.dislocation import Dislocation
from sim.runner import SimulatorThread
from tests.e2e.market import VENUES, market_config, write_config

S = 1_000_000_000
RECORD_S = 32.0
# A dislocation reaches a venue's book at its next requote (tens of ms at this rate), and the
# collector stamps it on receipt; the venues' lags (40-120 ms) only move the fair price they follow.
TOLERANCE_S = 0.5
QUIET = {"volatility_bps": 0.3}


def config(tmp_path: Path, dislocation: dict[str, float], taken: set[int]) -> dict[str, Any]:
    while True:  # two markets at once: their ports must differ
        cfg = market_config(tmp_path, rate=150.0, lake={"flush_interval_s": 1.0})
        ports = {p for v in cfg["sim"]["venues"].values() for p in (v["rest_port"], v["ws_port"])}
        ports |= {cfg["server"]["port"], cfg["api"]["port"], cfg["trader"]["api"]["port"]}
        if not ports & taken:
            taken |= ports
            break
    cfg["sim"]["dislocation"] = dislocation
    cfg["sim"]["regimes"] = {"volatile_multiplier": 1.0}
    for venue in cfg["sim"]["venues"].values():
        venue["noise_bps"] = 0.1
    for symbol in cfg["sim"]["symbols"].values():
        symbol.update(QUIET)
    return cfg


def record(stack: contextlib.ExitStack, tmp_path: Path, cfg: dict[str, Any]) -> tuple[Settings, SimulatorThread, subprocess.Popen[bytes]]:
    tmp_path.mkdir()
    settings = settings_from_mapping(cfg)
    path = write_config(tmp_path, cfg)
    sim = stack.enter_context(SimulatorThread(settings.sim))
    collector = subprocess.Popen(
        [sys.executable, "-m", "spreadlake", "collector", "--config", str(path)],
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return settings, sim, collector


def stop(collector: subprocess.Popen[bytes]) -> None:
    collector.send_signal(signal.SIGTERM)
    _, err = collector.communicate(timeout=60)
    assert collector.returncode == 0, err.decode()[-3000:]


def recorded_window(reader: LakeReader) -> tuple[int, int]:
    table = reader.table(Channel.TICKER, columns=["ts_recv"])
    ts = table.column("ts_recv").cast("int64").to_pylist()
    return min(ts), max(ts) + 1


def expected_pairs(d: Dislocation) -> set[tuple[str, str]]:
    # Lifted prices sell dear on the dislocated venue; lowered prices buy cheap there.
    others = [v for v in VENUES if v != d.venue]
    return {(o, d.venue) for o in others} if d.offset_bps > 0 else {(d.venue, o) for o in others}


def test_the_analyzer_finds_each_injected_dislocation_and_nothing_else(tmp_path: Path) -> None:
    taken: set[int] = set()
    with_cfg = config(tmp_path / "with", {"size_bps": 40.0, "every_s": 5.0, "duration_s": 2.5}, taken)
    without_cfg = config(tmp_path / "without", {"size_bps": 0.0, "every_s": 0.0, "duration_s": 0.0}, taken)
    with contextlib.ExitStack() as stack:
        settings, sim, collector = record(stack, tmp_path / "with", with_cfg)
        quiet_settings, _, quiet_collector = record(stack, tmp_path / "without", without_cfg)
        lake = Path(settings.lake.root)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len({p.parent.name for p in lake.glob("market_data/ticker/*/*/*.parquet")}) < 4:
            time.sleep(0.5)
        time.sleep(RECORD_S)
        stop(collector)
        stop(quiet_collector)
        dislocations = sim.dislocations()

    reader = LakeReader(settings.lake)
    first, last = recorded_window(reader)
    scope = Scope(first, last)
    found = opportunities(reader, scope, settings).to_pylist()
    top = [o for o in found if o["kind"] == "top"]
    inside = [d for d in dislocations if first + 2 * S <= d.start * S and d.end * S <= last - S]
    assert len(inside) >= 3, (len(dislocations), first, last)

    def overlaps(d: Dislocation, other: Dislocation) -> bool:
        return d is not other and d.symbol == other.symbol and d.start < other.end + 1 and other.start < d.end + 1

    # Each dislocation alone on its symbol is found on every ordered pair its sign opens, on time.
    # A trade can take the thin level a dislocated venue just quoted, and its best price falls back
    # to the old levels until the next requote: a run may pause for such a moment (< TOLERANCE_S).
    checked = 0
    for d in inside:
        if any(overlaps(d, other) for other in dislocations):
            continue
        checked += 1
        for buy, sell in expected_pairs(d):
            runs = sorted(
                (o["ts"].timestamp(), o["end"].timestamp())
                for o in top
                if (o["symbol"], o["buy_exchange"], o["sell_exchange"]) == (d.symbol, buy, sell)
                and o["end"].timestamp() > d.start - TOLERANCE_S and o["ts"].timestamp() < d.end + TOLERANCE_S
            )
            assert runs, (d, buy, sell)
            assert abs(runs[0][0] - d.start) <= TOLERANCE_S, (d, buy, sell, runs)
            assert abs(runs[-1][1] - d.end) <= TOLERANCE_S, (d, buy, sell, runs)
            pauses = [later[0] - earlier[1] for earlier, later in itertools.pairwise(runs)]
            assert all(p < TOLERANCE_S for p in pauses), (d, buy, sell, runs)
            assert sum(end - start for start, end in runs) >= (d.end - d.start) - 2 * TOLERANCE_S, (d, buy, sell, runs)
    assert checked >= 2

    # No opportunity outside a dislocation of its symbol on one of its two venues, in its direction.
    for o in top:
        start, end = o["ts"].timestamp(), o["end"].timestamp()
        causes = [
            d for d in dislocations
            if d.symbol == o["symbol"] and (o["buy_exchange"], o["sell_exchange"]) in expected_pairs(d)
            and d.start - TOLERANCE_S <= start and end <= d.end + TOLERANCE_S
        ]
        assert causes, o

    # The hourly statistics agree with the listing.
    rows = spreads(reader, scope, settings).to_pylist()
    assert sum(r["opportunities"] for r in rows if r["kind"] == "top") == len(top)

    quiet_reader = LakeReader(quiet_settings.lake)
    quiet_scope = Scope(*recorded_window(quiet_reader))
    assert quiet_reader.count(Channel.TICKER) > 1_000
    assert opportunities(quiet_reader, quiet_scope, quiet_settings).num_rows == 0
    quiet_rows = spreads(quiet_reader, quiet_scope, quiet_settings).to_pylist()
    assert quiet_rows and all(r["opportunities"] == 0 and r["share_above_fees"] == 0.0 for r in quiet_rows)
