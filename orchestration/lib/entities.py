"""The subgraph entities polyboard lands in the `raw` schema, and how each is paged.

One `Entity` per raw table. Column names are the GraphQL field names, unchanged, so a raw
row is the source entity as served; `_block_number` and `_extracted_at` are added on load.
Column kinds map to warehouse types in `warehouse.py`:
  text    -> text / VARCHAR           (ids, addresses, hashes, token ids: token ids have 77 digits)
  bigint  -> numeric(78,0) / HUGEINT  (BigInt amounts and timestamps, exact)
  long    -> bigint / BIGINT           (block numbers and times)
  int     -> integer / INTEGER
  bigints -> numeric(78,0)[] / HUGEINT[]
  texts   -> text[] / VARCHAR[]
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    table: str  # raw table and asset key ["polymarket", table]
    subgraph: str  # orderbook | pnl | activity
    graphql_type: str  # entity type in the subgraph schema
    collection: str  # plural query field, e.g. orderFilledEvents
    columns: tuple[tuple[str, str], ...]  # (GraphQL field, kind), id first
    # Immutable events carry a timestamp and are paged on (timestamp, id) incrementally;
    # the others are paged on id and refreshed.
    timestamped: bool
    mutable: bool
    description: str

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    @property
    def asset_key(self) -> list[str]:
        return ["polymarket", self.table]


ORDER_FILLED_EVENTS = Entity(
    table="order_filled_events",
    subgraph="orderbook",
    graphql_type="OrderFilledEvent",
    collection="orderFilledEvents",
    columns=(
        ("id", "text"),
        ("transactionHash", "text"),
        ("timestamp", "bigint"),
        ("orderHash", "text"),
        ("maker", "text"),
        ("taker", "text"),
        ("makerAssetId", "text"),
        ("takerAssetId", "text"),
        ("makerAmountFilled", "bigint"),
        ("takerAmountFilled", "bigint"),
        ("fee", "bigint"),
    ),
    timestamped=True,
    mutable=False,
    description="CTF exchange OrderFilled events, one per order side of a match.",
)

MARKET_DATA = Entity(
    table="market_data",
    subgraph="orderbook",
    graphql_type="MarketData",
    collection="marketDatas",
    columns=(("id", "text"), ("condition", "text"), ("outcomeIndex", "bigint")),
    timestamped=False,
    mutable=False,
    description="Outcome tokens: token id to condition and outcome index.",
)

CONDITIONS = Entity(
    table="conditions",
    subgraph="pnl",
    graphql_type="Condition",
    collection="conditions",
    columns=(
        ("id", "text"),
        ("positionIds", "texts"),
        ("payoutNumerators", "bigints"),
        ("payoutDenominator", "bigint"),
    ),
    timestamped=False,
    mutable=True,
    description="Conditions with their outcome tokens and payouts once resolved.",
)

SPLITS = Entity(
    table="splits",
    subgraph="activity",
    graphql_type="Split",
    collection="splits",
    columns=(
        ("id", "text"),
        ("timestamp", "bigint"),
        ("stakeholder", "text"),
        ("condition", "text"),
        ("amount", "bigint"),
    ),
    timestamped=True,
    mutable=False,
    description="Collateral split into a full set of outcome tokens.",
)

MERGES = Entity(
    table="merges",
    subgraph="activity",
    graphql_type="Merge",
    collection="merges",
    columns=SPLITS.columns,
    timestamped=True,
    mutable=False,
    description="Full sets of outcome tokens merged back into collateral.",
)

REDEMPTIONS = Entity(
    table="redemptions",
    subgraph="activity",
    graphql_type="Redemption",
    collection="redemptions",
    columns=(
        ("id", "text"),
        ("timestamp", "bigint"),
        ("redeemer", "text"),
        ("condition", "text"),
        ("indexSets", "bigints"),
        ("payout", "bigint"),
    ),
    timestamped=True,
    mutable=False,
    description="Winning outcome tokens of a resolved condition redeemed for collateral.",
)

USER_POSITIONS = Entity(
    table="user_positions",
    subgraph="pnl",
    graphql_type="UserPosition",
    collection="userPositions",
    columns=(
        ("id", "text"),
        ("user", "text"),
        ("tokenId", "text"),
        ("amount", "bigint"),
        ("avgPrice", "bigint"),
        ("realizedPnl", "bigint"),
        ("totalBought", "bigint"),
    ),
    timestamped=False,
    mutable=True,
    description="The pnl subgraph's positions of the wallets polyboard follows.",
)

ENTITIES: tuple[Entity, ...] = (
    ORDER_FILLED_EVENTS,
    MARKET_DATA,
    CONDITIONS,
    SPLITS,
    MERGES,
    REDEMPTIONS,
    USER_POSITIONS,
)
BY_TABLE = {e.table: e for e in ENTITIES}
