"""The reconciliation check: the ledger's positions against Polymarket's pnl subgraph.

Reads the `position_reconciliation` mart (dbt_project/models/marts/position_reconciliation.sql
has the classes). Every difference must be explained: by the subgraph's rounding, by the V1
fees it leaves out, or by events one side lacks. One classed `other` fails the check, so a
ledger that computes a position differently from the definitions shows here. Not blocking:
the real subgraph can differ for reasons outside the ledger (an event order within a block,
markets it tracks through other contracts), and the marts stay publishable; the failure is
what an operator sees.
"""

import dagster as dg

from orchestration.defs.resources import WarehouseResource
from orchestration.lib.warehouse import Warehouse

RECONCILIATION = dg.AssetKey(["marts", "position_reconciliation"])
CLASSES = ("rounding", "fees", "missing_events", "other")


def reconciliation_verdict(warehouse: Warehouse, largest: int = 10) -> dg.AssetCheckResult:
    """Pass when no difference is classed `other`. The metadata carries the agreement figure
    (share of positions identical or different by rounding only), the positions per class and
    the largest differences by realized PnL, then shares."""
    counts = ", ".join(
        f"sum(case when difference_class = '{c}' then 1 else 0 end)" for c in CLASSES
    )
    positions, wallets, agreeing, *per_class = warehouse.fetchone(
        "select count(*), count(distinct wallet_address), "
        f"sum(case when agrees then 1 else 0 end), {counts} "
        "from marts.position_reconciliation"
    )
    by_class = dict(zip(CLASSES, (int(n or 0) for n in per_class), strict=True))
    positions, agreeing = int(positions), int(agreeing or 0)
    agreement = round(100 * agreeing / positions, 4) if positions else None
    rows = warehouse.fetchall(
        "select wallet_address, token_id, difference_class, shares_difference, "
        "avg_price_difference, realized_pnl_difference, total_bought_difference "
        "from marts.position_reconciliation where difference_class is not null "
        "order by case when difference_class = 'other' then 0 else 1 end, "
        "abs(realized_pnl_difference) desc, abs(shares_difference) desc, "
        f"wallet_address, token_id limit {int(largest)}"
    )
    table = [
        "| wallet | token | class | shares | avg price | realized PnL | total bought |",
        "|---|---|---|---|---|---|---|",
        *(f"| {w} | {t[:12]}… | {c} | {s} | {a} | {r} | {b} |" for w, t, c, s, a, r, b in rows),
    ]
    other = by_class["other"]
    description = (
        f"{agreement}% of {positions} positions of {wallets} wallets agree with the pnl "
        f"subgraph; differences: {by_class['rounding']} rounding, {by_class['fees']} fees, "
        f"{by_class['missing_events']} missing events, {other} unexplained"
        if positions
        else "no position to reconcile: the pnl subgraph follows no wallet yet"
    )
    return dg.AssetCheckResult(
        passed=other == 0,
        description=description,
        metadata={
            "agreement_pct": dg.MetadataValue.float(agreement if agreement is not None else -1.0),
            "positions": positions,
            "wallets": wallets,
            "agreeing": agreeing,
            **{f"class_{c}": n for c, n in by_class.items()},
            "largest_differences": dg.MetadataValue.md("\n".join(table)),
        },
    )


@dg.asset_check(
    asset=RECONCILIATION,
    name="position_reconciliation_explained",
    description="Every difference between the ledger's positions and the pnl subgraph's "
    "UserPosition is explained (rounding, fees, missing events); reports the agreement figure "
    "and the largest differences.",
    blocking=False,
)
def position_reconciliation_explained(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as wh:
        return reconciliation_verdict(wh)
