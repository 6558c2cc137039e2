"""`spreadlake trader backtest --config FILE --from T --to T [--json]`: the trader's configuration run over a
range of the lake, in simulated time, with its report printed (text, or JSON with every trade)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import msgspec

from shared.settings import Settings
from trader.backtest.report import render
from trader.backtest.runner import NoMarketData, run_backtest
from trader.config import trader_config


def main(settings: Settings, start_ns: int | None, end_ns: int | None, *, as_json: bool = False, workdir: Path | None = None,
         verbose: bool = False) -> int:
    """Run the backtest and print its report; the exit code (1: no data in the range, or the lake unreadable)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    if not verbose:  # every denied proposal is a warning live; over hours of data they would bury the report
        logging.getLogger("trader.risk").setLevel(logging.ERROR)
    try:
        report = run_backtest(settings.lake, trader_config(settings), start_ns, end_ns, workdir=workdir)
    except NoMarketData as exc:
        print(f"spreadlake trader backtest: {exc} (lake {settings.lake.root})", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"spreadlake trader backtest: {exc}", file=sys.stderr)
        return 1
    if as_json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(report), indent=2).decode() + "\n")
    else:
        print(render(report))
    return 0
