"""Which leaderboard requests the precomputed `marts.leaderboard` answers, per publication.

The mart ranks each window's eligible traders by PnL and by volume with the pipeline's
thresholds (dbt vars `min_trader_trades`, `min_trader_volume`, from the same environment
variables as the API's defaults, but possibly from another deployment's). Reading it costs an
index range scan; ranking `traders_v2` per request costs a scan of every trader (0.2 to 0.7 s
on a million traders in PostgreSQL).

So once per publication the API checks that the mart holds exactly the rows ranking
`traders_v2` with its own default thresholds would give: in each window, every mart row has
the values of its trader in `traders_v2` (nothing null to rank) and is eligible, and there are
as many as `traders_v2` has eligible traders; then the two sets are equal, and so are their
ranks. That costs one scan of `traders_v2` and one join of the mart with it. A window that
passes answers requests with the default thresholds sorted by pnl or volume, best first;
every other request, and every request until the check of the served publication is done,
is ranked on the fly.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from api import queries
from api.warehouse import Warehouse

log = logging.getLogger("polyboard.api.rankings")


class MartRankings:
    def __init__(self, min_trades: int, min_volume: float):
        self.min_trades = min_trades
        self.min_volume = Decimal(repr(min_volume))
        self.version: str | None = None  # the publication checked
        self.totals: dict[str, int] = {}  # window -> eligible traders, for windows that pass

    async def check(self, warehouse: Warehouse) -> None:
        """Check the publication being served; on any error no window is answered by the mart."""
        version = warehouse.version
        self.totals = {}
        params = {"min_trades": self.min_trades, "min_volume": self.min_volume}
        try:
            eligible = await warehouse.fetch_one(queries.ELIGIBLE_COUNTS, params)
            mart = await warehouse.fetch(queries.MART_WINDOWS)
        except Exception as exc:
            log.warning("leaderboard mart not checked, ranking on the fly: %s", exc)
            self.version = version
            return
        by_window = {row["time_window"]: row for row in mart}
        for window in queries.WINDOW_COLUMNS:
            expected = int(eligible[f"eligible_{window}"]) if eligible else 0
            row = by_window.get(window)
            held = int(row["traders"]) if row else 0
            if held != expected:
                continue
            if row and (
                int(row["differing"])
                or row["min_trades"] < self.min_trades
                or row["min_volume"] < self.min_volume
            ):
                continue
            self.totals[window] = expected
        self.version = version
        if len(self.totals) < len(queries.WINDOW_COLUMNS):
            log.warning(
                "marts.leaderboard of %s does not match MIN_TRADER_TRADES=%s, "
                "MIN_TRADER_VOLUME=%s in windows %s: those are ranked on the fly",
                version,
                self.min_trades,
                self.min_volume,
                sorted(set(queries.WINDOW_COLUMNS) - set(self.totals)),
            )

    def total(self, warehouse: Warehouse, window: str, min_trades, min_volume) -> int | None:
        """The eligible traders of the window when the mart answers this request, else None."""
        if (
            self.version != warehouse.version
            or min_trades != self.min_trades
            or Decimal(repr(min_volume)) != self.min_volume
        ):
            return None
        return self.totals.get(window)
