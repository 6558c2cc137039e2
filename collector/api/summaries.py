"""Analyzer results (/v1/summary/{analysis}) and candles (/v1/candles), paged, over bounded time ranges.

Both read files (the summary store, or the raw lake through LakeReader), so the reading runs in a
worker thread: the event loop keeps serving ingest meanwhile. Candles come from the `candles`
summaries when their chunks cover the range, else they are computed from the lake for a range of
at most `api.candles_max_range_s`; the answer says which (`source_of_data`).
"""

# No `from __future__ import annotations`: FastAPI reads the parameter aliases defined inside the router
# factory from the handlers' annotations at run time, and cannot resolve them as strings.

import asyncio
import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Path, Query, Request
from fastapi.params import Depends

from collector.api.errors import ApiError, bad_parameter, documented, no_result, not_found
from collector.api.live import Catalog, choice
from collector.api.models import Candle, CandlesPage, ChunkInfo, SummaryPage
from shared.candles import INTERVALS, mid_candles, trade_candles
from shared.clock import Clock
from shared.lake import open_lake, parse_instant
from shared.lake.reader import LakeReader
from shared.settings import Settings
from shared.summary import ANALYSES, NoResult, SummaryManifest, SummaryStore
from shared.symbols import split

NS_PER_S = 1_000_000_000
MAX_NS = 2**63 - 1
MAX_OFFSET = 2**31
INSTANT = "Integer ns since the epoch, or ISO 8601 (a date or a time; UTC unless an offset is given)"


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


def summary_router(settings: Settings, clock: Clock, guarded: list[Depends]) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=guarded, tags=["summaries"])
    api = settings.api
    catalog = Catalog(settings)
    lake = open_lake(settings.lake)
    store = SummaryStore(lake)
    reader = LakeReader(settings.lake, lake)
    max_range_ns = api.max_range_s * NS_PER_S
    candles_max_ns = api.candles_max_range_s * NS_PER_S
    auth = documented(401) if guarded else {}
    Limit = Annotated[int, Query(ge=1, le=api.max_page_size, description=f"Rows per page (at most {api.max_page_size})")]
    Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip (the `next` link carries it)")]
    From = Annotated[str | None, Query(alias="from", min_length=1, max_length=64, description=f"Start of the range (inclusive). {INSTANT}",
                                       examples=["2026-01-01T00:00:00Z"])]
    To = Annotated[str | None, Query(alias="to", min_length=1, max_length=64, description=f"End of the range (exclusive). {INSTANT}",
                                     examples=["1767229200000000000"])]
    Exchange = Annotated[str | None, choice(catalog.exchanges, "Rows with this exchange in any venue column (default: all)")]

    @router.get("/summary/{analysis}", summary="The analyzer's stored results for a time range, filtered and paged",
                responses={**documented(404, 422, 503), **auth})
    async def get_summary(
        request: Request,
        analysis: Annotated[str, Path(description="The analysis", json_schema_extra={"enum": list(ANALYSES)})],
        symbol: Annotated[str | None, Query(description="One symbol (BTC-USDT), or a triangular path (USDT>BTC>ETH>USDT)")] = None,
        exchange: Exchange = None,
        start: From = None,
        end: To = None,
        limit: Limit = api.default_page_size,
        offset: Offset = 0,
    ) -> SummaryPage:
        if analysis not in ANALYSES:
            raise not_found("analysis", analysis, list(ANALYSES))
        symbols = None if symbol is None else [_summary_symbol(catalog, symbol)]
        exchanges = None if exchange is None else catalog.exchange(exchange)
        start_ns, end_ns = instant("from", start), instant("to", end)

        def run() -> SummaryPage:
            stored = store.manifests(analysis)
            if not stored:
                raise _not_yet(analysis)
            lo, hi = summary_range(start_ns, end_ns, stored[-1].end_ns, max_range_ns)
            try:
                table = store.read(analysis, lo, hi, symbols, exchanges)
            except NoResult:
                raise _not_yet(analysis) from None
            chunks = [ChunkInfo(start_ns=m.start_ns, end_ns=m.end_ns, rows=m.rows, created_ns=m.created_ns, code_version=m.code_version)
                      for m in store.manifests(analysis, lo, hi)]
            paging = Paging(limit, offset)
            return SummaryPage(analysis=analysis, from_ns=lo, to_ns=hi, total=table.num_rows, limit=limit, offset=offset,
                               next=_next(request, paging, table.num_rows, lo, hi), chunks=chunks, rows=rows_of(table, paging))

        return await asyncio.to_thread(run)

    @router.get("/candles", summary="OHLCV candles: from the `candles` summaries, or computed from the lake for a short range",
                responses={**documented(404, 422), **auth})
    async def get_candles(
        request: Request,
        symbol: Annotated[str, choice(catalog.symbols, "The symbol, BASE-QUOTE")],
        exchange: Annotated[str | None, choice(catalog.exchanges, "One exchange (default: all)")] = None,
        interval: Annotated[Literal["1s", "1m", "1h"], Query(description="Candle width; buckets are aligned to the epoch")] = "1m",
        source: Annotated[Literal["trade", "mid"], Query(description="Trade prices (with volume), or ticker mid prices")] = "trade",
        start: From = None,
        end: To = None,
        limit: Limit = api.default_page_size,
        offset: Offset = 0,
    ) -> CandlesPage:
        symbols = catalog.symbol(symbol)
        exchanges = None if exchange is None else catalog.exchange(exchange)
        width = INTERVALS[interval] * NS_PER_S
        lo, hi = candle_range(instant("from", start), instant("to", end), width, clock(), candles_max_ns, max_range_ns)

        def run() -> CandlesPage:
            table = None
            if covers(store.manifests("candles", lo, hi), lo, hi):
                stored = store.read("candles", lo, hi, symbols, exchanges)
                table = stored.filter(pc.and_(pc.equal(stored["interval"], interval), pc.equal(stored["source"], source)))
            origin: Literal["summary", "lake"] = "summary"
            if table is None or table.num_rows == 0:
                if hi - lo > candles_max_ns:
                    raise bad_parameter("from", f"the `candles` summaries do not cover this range, and computing from the lake is limited to "
                                                f"{api.candles_max_range_s} s (api.candles_max_range_s); the range spans {(hi - lo) // NS_PER_S} s")
                compute = trade_candles if source == "trade" else mid_candles
                table, origin = compute(reader, lo, hi, interval, exchanges, symbols), "lake"
            paging = Paging(limit, offset)
            candles = [Candle(**row) for row in rows_of(table.drop_columns(["interval", "source"]), paging)]
            return CandlesPage(symbol=symbol, exchange=exchange, interval=interval, source=source, source_of_data=origin,
                               from_ns=lo, to_ns=hi, total=table.num_rows, limit=limit, offset=offset,
                               next=_next(request, paging, table.num_rows, lo, hi), candles=candles)

        return await asyncio.to_thread(run)

    return router


def instant(field: str, text: str | None) -> int | None:
    """A `from`/`to` value in ns (parse_instant's forms), or a 422 naming the field."""
    if text is None:
        return None
    try:
        value = parse_instant(text)
    except (ValueError, OverflowError) as exc:
        raise bad_parameter(field, f"{text!r} is neither integer ns nor ISO 8601 ({exc})") from None
    if not 0 <= value <= MAX_NS:
        raise bad_parameter(field, f"{text!r} is outside 1970-01-01 .. 2262-04-11 (int64 ns)")
    return value


def summary_range(start_ns: int | None, end_ns: int | None, newest_end_ns: int, max_range_ns: int) -> tuple[int, int]:
    """The range to serve: by default the widest allowed one ending with the newest stored result."""
    if start_ns is None and end_ns is None:
        end_ns = newest_end_ns
    if end_ns is None:
        assert start_ns is not None
        end_ns = min(start_ns + max_range_ns, MAX_NS)
    if start_ns is None:
        start_ns = max(end_ns - max_range_ns, 0)
    check_range(start_ns, end_ns, max_range_ns)
    return start_ns, end_ns


def candle_range(start_ns: int | None, end_ns: int | None, width_ns: int, now_ns: int, default_span_ns: int, max_range_ns: int) -> tuple[int, int]:
    """Whole buckets covering the range asked for; by default the latest `default_span_ns` (at least one bucket) up to now."""
    end = -(-(end_ns if end_ns is not None else now_ns) // width_ns) * width_ns
    start = start_ns if start_ns is not None else end - max(width_ns, default_span_ns // width_ns * width_ns)
    start = start // width_ns * width_ns
    if end_ns is not None and start_ns is not None and end_ns <= start_ns:  # before rounding hides it
        raise bad_parameter("to", f"{end_ns} is not after from ({start_ns})")
    check_range(max(start, 0), min(end, MAX_NS), max_range_ns)
    return max(start, 0), min(end, MAX_NS)


def check_range(start_ns: int, end_ns: int, max_range_ns: int) -> None:
    if end_ns <= start_ns:
        raise bad_parameter("to", f"{end_ns} is not after from ({start_ns})")
    if end_ns - start_ns > max_range_ns:
        raise bad_parameter("from", f"the range spans {(end_ns - start_ns) / NS_PER_S:g} s; at most {max_range_ns // NS_PER_S} s "
                                    "(api.max_range_s) per request")


def covers(manifests: list[SummaryManifest], start_ns: int, end_ns: int) -> bool:
    """Do these chunks (sorted by start) cover [start_ns, end_ns) without a hole?"""
    reached = start_ns
    for manifest in manifests:
        if manifest.start_ns > reached:
            return False
        reached = max(reached, manifest.end_ns)
    return reached >= end_ns


def rows_of(table: pa.Table, paging: Paging) -> list[dict[str, Any]]:
    """One page of `table` as JSON-able rows: timestamps as int ns, non-finite floats as null."""
    page = table.slice(min(paging.offset, table.num_rows), paging.limit)
    columns = [page.column(i).cast(pa.int64()) if pa.types.is_timestamp(f.type) else page.column(i) for i, f in enumerate(page.schema)]
    rows = pa.Table.from_arrays(columns, names=page.column_names).to_pylist()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float) and not math.isfinite(value):
                row[key] = None
    return rows


def _next(request: Request, paging: Paging, total: int, start_ns: int, end_ns: int) -> str | None:
    """The next page's path and query: the same range pinned in ns, never the token."""
    after = paging.offset + paging.limit
    if after >= total:
        return None
    url = request.url.remove_query_params("token").include_query_params(offset=after, **{"from": start_ns, "to": end_ns})
    return f"{url.path}?{url.query}"


def _summary_symbol(catalog: Catalog, symbol: str) -> str:
    """A collected symbol, or a triangular path of assets the collected symbols trade."""
    if ">" not in symbol:
        return catalog.symbol(symbol)[0]
    assets = {asset for s in catalog.symbols for asset in split(s)}
    unknown = [asset for asset in symbol.split(">") if asset not in assets]
    if unknown:
        raise not_found("asset in path", unknown[0], sorted(assets))
    return symbol


def _not_yet(analysis: str) -> ApiError:
    return no_result(f"no result for analysis {analysis!r} yet: the analyzer has not stored one "
                     "(it writes one per chunk of time, once the chunk has ended)")
