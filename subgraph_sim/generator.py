"""A deterministic Polymarket: binary markets, traders of varied skill, matched orders,
splits, merges, redemptions, and the pnl subgraph's positions derived from them.

Everything comes from one seeded `random.Random`; there is no wall clock, so a seed and a
set of options always produce the same dataset. Generation walks the blocks in order and
keeps every trader's holdings, which is what makes the data coherent: a trader only sells
or merges shares it holds (unless `oversell_fraction` asks otherwise), and redemptions pay
exactly the winning shares held.
"""

from __future__ import annotations

import gc
import math
import random
from array import array
from dataclasses import asdict, dataclass, field, replace

from orchestration.lib import ctf
from subgraph_sim import positions as P
from subgraph_sim import v2_chain as V2
from subgraph_sim.chain import DEFAULT_BLOCK_TIME, DEFAULT_END_TIME, DEFAULT_GENESIS_BLOCK, Chain
from subgraph_sim.dataset import Dataset, order_filled_derived
from subgraph_sim.gamma import GammaCatalog, MarketFact
from subgraph_sim.schema import entity_specs
from subgraph_sim.store import Table

EXCHANGE = "0x4bfb41d5b3570defd03c39a9a4d8de6bd8b8982e"  # CTF exchange, the taker of taker orders
USDC_ASSET = "0"

PRESETS: dict[str, dict[str, float]] = {
    "tiny": {"fills": 400, "traders": 30, "markets": 10, "days": 3},
    "demo": {"fills": 50_000, "traders": 2_000, "markets": 300, "days": 60},
    "bench": {"fills": 1_000_000, "traders": 20_000, "markets": 2_000, "days": 90},
    # Worlds that cross the V2 cutover: V1 subgraphs before it, V2 chain logs after it.
    "crossing": {"fills": 600, "traders": 30, "markets": 12, "days": 3, "v2_days": 2},
    "demo_v2": {"fills": 60_000, "traders": 2_000, "markets": 300, "days": 60, "v2_days": 14},
}

CASUAL, BOT, WHALE, MARKET_MAKER = "casual", "bot", "whale", "market_maker"
# log-normal share sizes (mu, sigma of ln shares) per role
_SIZE = {CASUAL: (3.5, 1.0), BOT: (2.0, 0.7), WHALE: (8.0, 1.0), MARKET_MAKER: (4.0, 1.0)}


@dataclass(frozen=True)
class Options:
    fills: int
    traders: int
    markets: int
    days: float
    seed: int = 1
    end_time: int = DEFAULT_END_TIME
    block_time: int = DEFAULT_BLOCK_TIME
    genesis_block: int = DEFAULT_GENESIS_BLOCK
    txs_per_block: float = 4.0  # mean transactions in a block that has any
    burst: int = 0  # extra fills sharing one timestamp
    late_fraction: float = 0.0  # events visible only `late_delay_blocks` after their block
    late_delay_blocks: int = 300
    oversell_fraction: float = 0.0  # exits that try to sell more than held
    future_seconds: int = 0  # events beyond end_time, revealed as the head advances
    # Days of V2 era after the cutover (then `end_time` is the cutover): V1 entities stop at
    # it, V2 exchange fills (from the V2 deployment on) and CTF conditions become chain logs.
    v2_days: float = 0.0
    v2_precutover_share: float = 0.05  # trades between V2 deployment and cutover that are V2
    neg_risk_fraction: float = 0.25  # markets prepared by the NegRiskAdapter (crossing worlds)
    # V2-era position operations through the collateral adapters (crossing worlds)
    v2_split_share: float = 0.35  # a maker short of shares splits (else the match MINTs)
    v2_merge_share: float = 0.05  # a maker merges part of its full sets after a trade
    v2_conversion_share: float = 0.1  # a neg-risk trade comes with a holder's conversion
    live_trade_seconds: float = 4.0  # mean gap of V2 trades beyond the chain head (live)
    # Mean market lifetime in days, whatever the world's length: markets then open throughout
    # the history and most of them have resolved by its end, as on the real exchange (0: a
    # market lives a share of the world's span, opening in its first 80%).
    market_days: float = 0.0
    preset: str = field(default="custom", compare=False)


def options(preset: str = "tiny", **overrides) -> Options:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    base = Options(preset=preset, **PRESETS[preset])
    unknown = set(overrides) - set(asdict(base))
    if unknown:
        raise TypeError(f"unknown generator options: {sorted(unknown)}")
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def generate(preset: str = "tiny", **overrides) -> Dataset:
    """A coherent dataset from a preset (tiny, demo, bench) and overrides (seed, fills, ...)."""
    # Millions of small tuples would trigger the cyclic collector over and over, scanning
    # an ever larger heap; nothing generated here forms cycles.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Generator(options(preset, **overrides)).run()
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class _Market:
    condition: str
    token_ids: tuple[int, int]
    token_strs: tuple[str, str]
    open_time: int
    resolve_time: int  # may lie beyond the horizon: then the market stays open
    winner: int
    popularity: float
    makers: list[int]
    price: float  # of the winning token; the loser trades at 1 - price
    start_price: float
    holders: list[tuple[int, int]] = field(default_factory=list)  # (trader, outcome)
    # Crossing worlds: how the CTF condition was prepared (its id and tokens derive from it).
    oracle: str = ""
    question_id: str = ""
    neg_risk: bool = False
    neg_risk_market: str = ""  # the neg-risk market (event) whose question this is
    question_index: int = 0


class _Columns:
    """Rows of one entity type in stored form, one tuple per row (cheaper to append than
    one list per field); `cols` transposes them once generation is done."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.rows: list[tuple] = []
        self.vis: list[int] = []

    def add(self, vis: int, *values) -> None:
        self.rows.append(values)
        self.vis.append(vis)

    @property
    def cols(self) -> dict[str, list]:
        columns = zip(*self.rows, strict=True) if self.rows else [()] * len(self.names)
        return {name: list(col) for name, col in zip(self.names, columns, strict=True)}


class _Generator:
    def __init__(self, opts: Options) -> None:
        self.o = opts
        self.rng = random.Random(opts.seed)
        self.span = int(opts.days * 86400)
        self.start_time = opts.end_time - self.span
        self.crossing = opts.v2_days > 0
        # V1 entities end here; the chain (and the schedule of generated trades) at `chain_end`.
        self.v1_end = opts.end_time
        self.chain_end = opts.end_time + int(opts.v2_days * 86400)
        self.horizon_end = self.chain_end + opts.future_seconds
        # Genesis an hour before the first market, so every event has a block after it.
        if self.crossing:
            self.chain = V2.polygon_numbered(self.start_time - 3600)
            if self.o.block_time != self.chain.block_time:
                raise ValueError("a crossing world has Polygon's 2 s blocks")
            self.schedule_end = self.chain_end
            self.logs = V2.ChainLogBuilder(self.chain)
        else:
            self.chain = Chain(opts.genesis_block, self.start_time - 3600, opts.block_time)
            self.schedule_end = self.horizon_end
        self.fills = _Columns(
            (
                "id",
                "timestamp",
                "maker",
                "taker",
                "makerAssetId",
                "takerAssetId",
                "makerAmountFilled",
                "takerAmountFilled",
                "fee",
            )
        )
        activity_fields = ("id", "timestamp", "stakeholder", "condition", "amount")
        self.splits = _Columns(activity_fields)
        self.merges = _Columns(activity_fields)
        self.redemptions = _Columns(
            ("id", "timestamp", "redeemer", "condition", "indexSets", "payout")
        )
        # UserPosition versions: entity index, state, block; at most one version per block.
        self.pos_ids: list[str] = []
        self.pos_users: list[str] = []
        self.pos_tokens: list[int] = []
        self.ver_ent = array("q")
        self.ver_state = tuple(array("q") for _ in range(4))  # amount, avg, realized, bought
        self.ver_vis = array("q")
        # (trader, market, outcome) -> [amount, avg, realized, bought, entity, row, block]: the
        # pnl subgraph's UserPosition, which counts a buy's fee shares and never sees V2 events
        self.positions: dict[tuple[int, int, int], list[int]] = {}
        # (trader, market, outcome) -> the shares the CTF holds for the trader (what it trades)
        self.held: dict[tuple[int, int, int], int] = {}

    # ---- population -------------------------------------------------------------------

    def _hex(self, nbits: int) -> str:
        return f"0x{self.rng.getrandbits(nbits):0{nbits // 4}x}"

    def _make_traders(self) -> None:
        n = max(4, self.o.traders)
        rng = self.rng
        n_mm = max(2, n // 40)
        n_whale = max(1, n // 30)
        n_bot = max(1, n // 12)
        roles = [MARKET_MAKER] * n_mm + [WHALE] * n_whale + [BOT] * n_bot
        roles += [CASUAL] * (n - len(roles))
        self.addresses = [self._hex(160) for _ in range(n)]
        self.roles = roles
        self.skill = [rng.betavariate(3, 2) if r == WHALE else rng.betavariate(2, 2) for r in roles]
        self.market_makers = [i for i, r in enumerate(roles) if r == MARKET_MAKER]
        self.takers = [i for i, r in enumerate(roles) if r != MARKET_MAKER]
        weight = {CASUAL: 1.0, WHALE: 3.0, BOT: 25.0}
        self.taker_weights = [
            weight[roles[i]] * min(rng.paretovariate(1.3), 50.0) for i in self.takers
        ]

    def _make_markets(self) -> None:
        rng = self.rng
        span = self.horizon_end - self.start_time
        self.markets: list[_Market] = []
        for i in range(max(1, self.o.markets)):
            # A few markets are open from the start so the first blocks have trades.
            lifetime = self.o.market_days * 86400 / 0.625 if self.o.market_days else span
            opening = 1.0 if self.o.market_days else 0.8
            open_time = (
                self.start_time if i < 3 else self.start_time + int(rng.random() * opening * span)
            )
            duration = int((0.15 + 0.95 * rng.random()) * lifetime)
            tokens = tuple(rng.getrandbits(256) | (1 << 255) for _ in range(2))
            start_price = 0.2 + 0.6 * rng.random()
            self.markets.append(
                _Market(
                    condition=self._hex(256),
                    token_ids=tokens,
                    token_strs=(str(tokens[0]), str(tokens[1])),
                    open_time=open_time,
                    resolve_time=open_time + max(duration, 4 * 3600),
                    winner=rng.randrange(2),
                    popularity=min(rng.paretovariate(1.2), 40.0),
                    makers=rng.sample(self.market_makers, min(2, len(self.market_makers))),
                    price=start_price,
                    start_price=start_price,
                )
            )

    def _resolved(self, market: _Market) -> bool:
        return market.resolve_time < self.horizon_end

    # ---- schedule ---------------------------------------------------------------------

    def _schedule(self) -> list[tuple[int, int]]:
        """(block, market) of every trade, in block order."""
        rng, chain = self.rng, self.chain
        trades = self.o.fills // 2
        if self.o.future_seconds and not self.crossing:
            trades += int(trades * self.o.future_seconds / max(self.span, 1))
        windows = [(m.open_time, min(m.resolve_time, self.schedule_end)) for m in self.markets]
        weights = [
            m.popularity * max(end - start, 1)
            for m, (start, end) in zip(self.markets, windows, strict=True)
        ]
        picks = rng.choices(range(len(self.markets)), weights=weights, k=trades)
        total_blocks = (self.schedule_end - self.start_time) // chain.block_time
        # Trades cluster into every `stride`-th block, several transactions per block.
        stride = max(1, int(total_blocks * self.o.txs_per_block / max(trades, 1)))
        genesis = chain.genesis_block
        schedule = []
        for m in picks:
            start, end = windows[m]
            if end <= start:  # opens after the schedule's end (a live world's future)
                continue
            block = chain.block_at(start + int(rng.random() * (end - start)))
            snapped = block - (block - genesis) % stride
            if chain.block_timestamp(snapped) >= start:
                block = snapped
            schedule.append((block, m))
        if self.o.burst:
            schedule += self._burst()
        schedule.sort()
        return schedule

    def _burst(self) -> list[tuple[int, int]]:
        """`burst` fills in one block: a market's big news moment."""
        middle = (self.start_time + self.o.end_time) // 2
        live = [
            i
            for i, m in enumerate(self.markets)
            if m.open_time <= middle < min(m.resolve_time, self.horizon_end)
        ] or [0]
        market = max(live, key=lambda i: self.markets[i].popularity)
        block = self.chain.block_at(max(middle, self.markets[market].open_time))
        return [(block, market)] * (self.o.burst // 2)

    # ---- positions --------------------------------------------------------------------

    def _position(self, trader: int, m: int, outcome: int) -> list[int]:
        key = (trader, m, outcome)
        pos = self.positions.get(key)
        if pos is None:
            market = self.markets[m]
            entity = len(self.pos_ids)
            self.pos_ids.append(f"{self.addresses[trader]}-{market.token_strs[outcome]}")
            self.pos_users.append(self.addresses[trader])
            self.pos_tokens.append(market.token_ids[outcome])
            pos = [0, 0, 0, 0, entity, -1, -1]
            self.positions[key] = pos
            market.holders.append((trader, outcome))
        return pos

    def _record(self, pos: list[int], block: int) -> None:
        """Store the position's state as its version at `block` (one version per block)."""
        amounts, avgs, realized, bought = self.ver_state
        if pos[6] == block:
            row = pos[5]
            amounts[row], avgs[row], realized[row], bought[row] = pos[0], pos[1], pos[2], pos[3]
            return
        pos[5] = len(self.ver_vis)
        pos[6] = block
        self.ver_ent.append(pos[4])
        amounts.append(pos[0])
        avgs.append(pos[1])
        realized.append(pos[2])
        bought.append(pos[3])
        self.ver_vis.append(block)

    # ---- events -----------------------------------------------------------------------

    def _size(self, trader: int) -> int:
        """Shares (raw, x 1e6) in whole cents of a share, so USDC = shares x price is exact."""
        mu, sigma = _SIZE[self.roles[trader]]
        shares = math.exp(self.rng.gauss(mu, sigma))
        return max(1, min(int(shares * 100), 50_000_000)) * 10_000

    def _fee(self, received: int, probability: float) -> int:
        if self.rng.random() >= probability:
            return 0
        return received * self.rng.choice((10, 50, 100, 200)) // 10_000

    def _fill(
        self,
        tx: str,
        block: int,
        ts: int,
        m: int,
        outcome: int,
        buyer: int,
        seller: int,
        buyer_is_maker: bool,
        shares: int,
        usdc: int,
    ) -> None:
        """One matched trade: the maker order's event and the taker order's event."""
        market = self.markets[m]
        token = market.token_strs[outcome]
        maker, taker = (buyer, seller) if buyer_is_maker else (seller, buyer)
        events = []
        for order_maker, counterparty, fee_probability in (
            (maker, taker, 0.05),
            (taker, None, 0.3),
        ):
            buying = order_maker == buyer
            fee = self._fee(shares if buying else usdc, fee_probability)
            order_hash = self._hex(256)
            if buying:
                assets = (USDC_ASSET, token, usdc, shares)
            else:
                assets = (token, USDC_ASSET, shares, usdc)
            events.append((order_hash, order_maker, counterparty, buying, fee, assets))
        events.sort()  # ids share the tx hash, so id order is order-hash order
        for order_hash, order_maker, counterparty, buying, fee, assets in events:
            taker_address = EXCHANGE if counterparty is None else self.addresses[counterparty]
            self.fills.add(
                block,
                f"{tx}_{order_hash}",
                ts,
                self.addresses[order_maker],
                taker_address,
                *assets,
                fee,
            )
            pos = self._position(order_maker, m, outcome)
            # the pnl subgraph leaves the fee out: the whole fill at usdc / shares
            price = P.fill_price(usdc, shares)
            if buying:
                P.buy(pos, price, shares)
                self._move(order_maker, m, outcome, shares - fee)
            else:
                P.sell(pos, price, shares)
                self._move(order_maker, m, outcome, -shares)
            self._record(pos, block)

    def _split(self, tx: str, block: int, ts: int, trader: int, m: int, amount: int) -> None:
        self.splits.add(
            block,
            f"{tx}_0x{self.rng.randrange(1, 400):x}",
            ts,
            self.addresses[trader],
            self.markets[m].condition,
            amount,
        )
        for outcome in (0, 1):
            pos = self._position(trader, m, outcome)
            P.buy(pos, P.FIFTY_CENTS, amount)
            self._move(trader, m, outcome, amount)
            self._record(pos, block)

    def _merge(self, tx: str, block: int, ts: int, trader: int, m: int, amount: int) -> None:
        self.merges.add(
            block,
            f"{tx}_0x{self.rng.randrange(1, 400):x}",
            ts,
            self.addresses[trader],
            self.markets[m].condition,
            amount,
        )
        for outcome in (0, 1):
            pos = self._position(trader, m, outcome)
            P.sell(pos, P.FIFTY_CENTS, amount)
            self._move(trader, m, outcome, -amount)
            self._record(pos, block)

    def _move_price(self, market: _Market, ts: int) -> int:
        """Random walk of the winner's price toward 1 as resolution nears; in cents."""
        life = max(market.resolve_time - market.open_time, 1)
        progress = min(max((ts - market.open_time) / life, 0.0), 1.0)
        desired = market.start_price + (0.97 - market.start_price) * progress**2
        price = market.price + 0.25 * (desired - market.price) + self.rng.gauss(0.0, 0.03)
        market.price = min(max(price, 0.02), 0.98)
        return min(max(round(market.price * 100), 1), 99)

    def _trade(self, txs, block: int, ts: int, m: int) -> None:
        rng = self.rng
        market = self.markets[m]
        winner_cents = self._move_price(market, ts)
        maker_mm = rng.choice(market.makers)
        seller = None
        if market.holders and rng.random() < 0.3:
            holder, outcome = market.holders[rng.randrange(len(market.holders))]
            held = self._held(holder, m, outcome)
            if self.roles[holder] != MARKET_MAKER and held >= 10_000:
                seller = holder
                shares = held if rng.random() < 0.3 else held * (30 + rng.randrange(71)) // 100
                shares = max(10_000, shares - shares % 10_000)
                if rng.random() < self.o.oversell_fraction:
                    shares = held + (1 + rng.randrange(100)) * 10_000
                buyer = maker_mm
                if rng.random() < 0.4:
                    other = self._next_taker()
                    buyer = other if other != holder else maker_mm
        if seller is None:
            buyer = self._next_taker()
            p_win = 0.25 + 0.5 * self.skill[buyer]
            outcome = market.winner if rng.random() < p_win else 1 - market.winner
            shares = self._size(buyer)
            seller = maker_mm
            self._position(seller, m, outcome)
            held = self._held(seller, m, outcome)
            if held < shares:
                # Market makers mint inventory: split USDC into full sets, then sell one side.
                amount = (shares - held) // P.ONE * P.ONE + P.ONE * (1 + rng.randrange(50))
                self._split(next(txs), block, ts, seller, m, amount)
        cents = winner_cents if outcome == market.winner else 100 - winner_cents
        usdc = shares * cents // 100
        mm_in_trade = maker_mm in (buyer, seller)
        buyer_is_maker = (
            (buyer == maker_mm) if mm_in_trade and rng.random() < 0.8 else rng.random() < 0.5
        )
        self._fill(next(txs), block, ts, m, outcome, buyer, seller, buyer_is_maker, shares, usdc)
        if mm_in_trade and rng.random() < 0.03:
            held = min(self._held(maker_mm, m, o) for o in (0, 1))
            amount = held * (30 + rng.randrange(50)) // 100 // P.ONE * P.ONE
            if amount > 0:
                self._merge(next(txs), block, ts, maker_mm, m, amount)

    def _next_taker(self) -> int:
        if self._pool_pos >= len(self._pool):
            self._pool = self.rng.choices(self.takers, weights=self.taker_weights, k=65_536)
            self._pool_pos = 0
        self._pool_pos += 1
        return self._pool[self._pool_pos - 1]

    def _block_txs(self, count: int):
        """Transaction hashes of one block in ascending order, so generation order is id order
        and the positions replay in (timestamp, id) order as the pnl subgraph sees them."""
        getrandbits = self.rng.getrandbits
        for h in sorted(getrandbits(256) for _ in range(count)):
            yield f"0x{h:064x}"

    def _redeem(self) -> None:
        rng, chain = self.rng, self.chain
        for m, market in enumerate(self.markets):
            if not self._resolved(market):
                continue
            traders = list(dict.fromkeys(t for t, _ in market.holders))
            for trader in traders:
                # The CTF pays every winning share held, V2 fills' included.
                held = [self._held(trader, m, o) for o in (0, 1)]
                if not any(held) or rng.random() >= 0.85:
                    continue
                delay = chain.block_time + int(rng.expovariate(1 / min(self.span * 0.05, 172_800)))
                ts = chain.block_timestamp(chain.block_at(market.resolve_time + delay))
                if ts >= self.horizon_end:
                    continue
                block = chain.block_at(ts)
                payout = held[market.winner]  # payout numerators [1, 0] / [0, 1], denominator 1
                if self.crossing and ts >= self.v1_end:
                    # after the cutover through the collateral adapter: both outcomes, whole
                    events = V2.redeem_through_adapter(
                        market.neg_risk,
                        self.addresses[trader],
                        market.condition,
                        market.token_ids,
                        tuple(held),
                        payout,
                    )
                    self.logs.add_tx(block, self._hex(256), events)
                    for outcome in (0, 1):
                        self._v2_move(trader, m, outcome, -held[outcome])
                    continue
                rid = f"{self._hex(256)}_0x{rng.randrange(1, 400):x}"
                self.redemptions.add(
                    block, rid, ts, self.addresses[trader], market.condition, (1, 2), payout
                )
                for outcome in (0, 1):
                    pos = self._position(trader, m, outcome)
                    # ConditionalTokensMapping.handlePayoutRedemption sells the whole tracked
                    # amount; a neg-risk market redeems through the NegRiskAdapter, whose
                    # handler sells the amounts the event names (the shares held on chain)
                    redeemed = held[outcome] if market.neg_risk else pos[P.AMOUNT]
                    P.sell(pos, P.payout_price(_payouts(market)[outcome], 1), redeemed)
                    self.held.pop((trader, m, outcome), None)
                    self._record(pos, block)

    # ---- V2 era (crossing worlds) -------------------------------------------------------

    def _prepare_conditions(self) -> None:
        """Give every market the condition and token ids the CTF computes for it (its random
        id becomes the question id); markets created after the V2 deployment are prepared
        on chain."""
        rng = self.rng
        # neg-risk market id -> its questions (market indexes), in question order
        self.neg_risk_markets: dict[str, list[int]] = {}
        market_id, size = "", 0
        for m, market in enumerate(self.markets):
            market.neg_risk = rng.random() < self.o.neg_risk_fraction
            if market.neg_risk:
                # A neg-risk market's questions share its id but for the last byte; up to
                # four generated markets in a row are the questions of one.
                questions = self.neg_risk_markets.get(market_id, [])
                if not questions or len(questions) >= size:
                    market_id, size = f"{market.condition[:-2]}00", 2 + rng.randrange(3)
                    questions = self.neg_risk_markets.setdefault(market_id, [])
                market.neg_risk_market, market.question_index = market_id, len(questions)
                questions.append(m)
                market.question_id = ctf.neg_risk_question_id(market_id, market.question_index)
                market.oracle = V2.NEG_RISK_ADAPTER
            else:
                market.question_id = market.condition
                market.oracle = V2.UMA_ADAPTER
            market.condition = ctf.condition_id(market.oracle, market.question_id, 2)
            market.token_ids = ctf.token_ids(market.condition, ctf.ctf_collateral(market.oracle))
            market.token_strs = (str(market.token_ids[0]), str(market.token_ids[1]))
            if market.open_time >= V2.V2_DEPLOY_TIME:
                self.logs.add_tx(
                    self.chain.block_at(market.open_time),
                    self._hex(256),
                    [V2.condition_preparation(market.oracle, market.question_id, market.condition)],
                )

    def _resolve_conditions(self) -> None:
        """The oracle reports: `ConditionResolution` of every market resolved on the V2 chain."""
        for market in self.markets:
            if not (V2.V2_DEPLOY_TIME <= market.resolve_time < self.horizon_end):
                continue
            self.logs.add_tx(
                self.chain.block_at(market.resolve_time),
                self._hex(256),
                [
                    V2.condition_resolution(
                        market.oracle, market.question_id, market.condition, _payouts(market)
                    )
                ],
            )

    def _live_schedule(self) -> list[tuple[int, int]]:
        """Trades beyond the chain head (`future_seconds`), a few seconds apart, so a live
        chain shows new fills as its head advances."""
        if not self.o.future_seconds:
            return []
        rng, chain = self.rng, self.chain
        schedule = []
        ts = chain.block_timestamp(chain.block_at(self.chain_end) + 1)
        while ts < self.horizon_end:
            open_now = [i for i, m in enumerate(self.markets) if m.open_time <= ts < m.resolve_time]
            if open_now:
                weights = [self.markets[i].popularity for i in open_now]
                schedule.append((chain.block_at(ts), rng.choices(open_now, weights)[0]))
            ts += chain.block_time + int(rng.expovariate(1 / self.o.live_trade_seconds))
        return schedule

    def _is_v2(self, ts: int) -> bool:
        if ts >= self.v1_end:
            return True
        return ts >= V2.V2_DEPLOY_TIME and self.rng.random() < self.o.v2_precutover_share

    def _held(self, trader: int, m: int, outcome: int) -> int:
        """Shares held on chain: net of V1 buy fees, V2 fills' included (the pnl subgraph's
        UserPosition counts the fee shares and never sees V2)."""
        return self.held.get((trader, m, outcome), 0)

    def _move(self, trader: int, m: int, outcome: int, shares: int) -> None:
        """Shares gained (or given, when negative; an oversold exit gives what is held)."""
        key = (trader, m, outcome)
        self.held[key] = max(self.held.get(key, 0) + shares, 0)

    def _trade_v2(self, block: int, ts: int, m: int) -> None:
        """One V2 match: a holder exits (to a market maker, or MERGE against the maker's
        complement), or a trader buys (from the maker's inventory, or MINT with the maker
        buying the complement)."""
        rng = self.rng
        market = self.markets[m]
        winner_cents = self._move_price(market, ts)
        mm = rng.choice(market.makers)

        def cents_of(outcome: int) -> int:
            return winner_cents if outcome == market.winner else 100 - winner_cents

        if market.neg_risk and rng.random() < self.o.v2_conversion_share:
            self._convert_v2(block, ts, m)
        if market.holders and rng.random() < 0.3:
            holder, outcome = market.holders[rng.randrange(len(market.holders))]
            held = self._held(holder, m, outcome)
            if self.roles[holder] != MARKET_MAKER and held >= 10_000:
                shares = held if rng.random() < 0.3 else held * (30 + rng.randrange(71)) // 100
                shares = max(10_000, shares - shares % 10_000)
                usdc = shares * cents_of(outcome) // 100
                taker = (holder, False, outcome, shares, usdc)
                if self._held(mm, m, 1 - outcome) >= shares and rng.random() < 0.3:
                    makers = [(mm, False, 1 - outcome, shares, shares - usdc)]  # MERGE
                else:
                    makers = [(mm, True, outcome, shares, usdc)]
                self._match_v2(block, m, taker, makers)
                self._maybe_merge_v2(block, mm, m)
                return
        buyer = self._next_taker()
        p_win = 0.25 + 0.5 * self.skill[buyer]
        outcome = market.winner if rng.random() < p_win else 1 - market.winner
        shares = self._size(buyer)
        usdc = shares * cents_of(outcome) // 100
        taker = (buyer, True, outcome, shares, usdc)
        held = self._held(mm, m, outcome)
        if held < shares and rng.random() < self.o.v2_split_share:
            # The maker splits collateral into full sets through the adapter, then sells.
            amount = (shares - held) // P.ONE * P.ONE + P.ONE * (1 + rng.randrange(50))
            self._split_v2(block, mm, m, amount)
        if self._held(mm, m, outcome) >= shares:
            makers = [(mm, False, outcome, shares, usdc)]
        else:
            # MINT: the makers buy the complement; together both sides pay one USDC a share.
            makers = []
            split = rng.random() < 0.3 and len(market.makers) > 1 and shares >= 20_000
            parts = [shares // 20_000 * 10_000] if split else []
            parts.append(shares - sum(parts))
            makers_of = [mm] if not split else market.makers
            for maker, part in zip(makers_of, parts, strict=True):
                complement = part - part * cents_of(outcome) // 100
                makers.append((maker, True, 1 - outcome, part, complement))
        self._match_v2(block, m, taker, makers)
        self._maybe_merge_v2(block, mm, m)

    def _match_v2(self, block: int, m: int, taker, makers) -> None:
        """The logs of one match: an `OrderFilled` per maker order (taker = the taker order's
        owner), then the taker order's (taker = the exchange); orders are (owner, buying,
        outcome, shares, usdc)."""
        rng = self.rng
        market = self.markets[m]
        exchange = V2.exchange_of(market.neg_risk)
        taker_owner = self.addresses[taker[0]]
        events = []
        # Both orders buy (MINT) or both sell (MERGE): the exchange splits or merges the full
        # sets through the adapter, a settlement leg that is no user's operation.
        complementary = makers[0][1] == taker[1]
        if complementary and taker[1]:
            events += V2.split_through_adapter(
                market.neg_risk, exchange, market.condition, market.token_ids, taker[3]
            )
        for order, counterparty, fee_probability in [
            *((order, taker_owner, 0.05) for order in makers),
            (taker, exchange, 0.3),
        ]:
            owner, buying, outcome, shares, usdc = order
            fee = (
                usdc * rng.choice((10, 50, 100)) // 10_000 if rng.random() < fee_probability else 0
            )
            builder = self._hex(256) if rng.random() < 0.2 else V2.ZERO_BYTES32
            events.append(
                V2.order_filled(
                    exchange,
                    self._hex(256),
                    self.addresses[owner],
                    counterparty,
                    buying,
                    market.token_ids[outcome],
                    shares,
                    usdc,
                    fee,
                    builder,
                    V2.ZERO_BYTES32,
                )
            )
            self._v2_move(owner, m, outcome, shares if buying else -shares)
        if complementary and not taker[1]:
            events += V2.merge_through_adapter(
                market.neg_risk, exchange, market.condition, market.token_ids, taker[3]
            )
        self.logs.add_tx(block, self._hex(256), events)

    def _v2_move(self, owner: int, m: int, outcome: int, shares: int) -> None:
        """Shares gained (or lost, when negative) on the V2 chain."""
        key = (owner, m, outcome)
        if key not in self.positions and key not in self.held:
            self.markets[m].holders.append((owner, outcome))
        self.held[key] = self.held.get(key, 0) + shares

    def _split_v2(self, block: int, trader: int, m: int, amount: int) -> None:
        market = self.markets[m]
        events = V2.split_through_adapter(
            market.neg_risk, self.addresses[trader], market.condition, market.token_ids, amount
        )
        self.logs.add_tx(block, self._hex(256), events)
        for outcome in (0, 1):
            self._v2_move(trader, m, outcome, amount)

    def _maybe_merge_v2(self, block: int, trader: int, m: int) -> None:
        """Now and then a maker merges part of its full sets back into collateral."""
        if self.rng.random() >= self.o.v2_merge_share:
            return
        held = min(self._held(trader, m, outcome) for outcome in (0, 1))
        amount = held * (30 + self.rng.randrange(50)) // 100 // P.ONE * P.ONE
        if amount <= 0:
            return
        market = self.markets[m]
        events = V2.merge_through_adapter(
            market.neg_risk, self.addresses[trader], market.condition, market.token_ids, amount
        )
        self.logs.add_tx(block, self._hex(256), events)
        for outcome in (0, 1):
            self._v2_move(trader, m, outcome, -amount)

    def _convert_v2(self, block: int, ts: int, m: int) -> None:
        """A holder of this question's NO shares converts some (with another question's NO
        shares, now and then) into YES shares of the market's other prepared questions."""
        rng, market = self.rng, self.markets[m]
        questions = [
            q for q in self.neg_risk_markets[market.neg_risk_market]
            if self.markets[q].open_time <= ts
        ]  # fmt: skip
        holders = [
            t for t, outcome in market.holders
            if outcome == 1 and self.roles[t] != MARKET_MAKER and self._held(t, m, 1) >= 20_000
        ]  # fmt: skip
        if len(questions) < 2 or not holders:
            return
        trader = holders[rng.randrange(len(holders))]
        amount = self._held(trader, m, 1) * (30 + rng.randrange(71)) // 100
        amount -= amount % 10_000
        named = [m]
        if rng.random() < 0.5:
            named += [q for q in questions if q != m and self._held(trader, q, 1) >= amount][:1]
        others = [q for q in questions if q not in named]
        index_set = sum(1 << self.markets[q].question_index for q in named)
        events = V2.convert_through_adapter(
            self.addresses[trader],
            market.neg_risk_market,
            index_set,
            [self.markets[q].token_ids[1] for q in named],
            [self.markets[q].token_ids[0] for q in others],
            amount,
        )
        self.logs.add_tx(block, self._hex(256), events)
        for q in named:
            self._v2_move(trader, q, 1, -amount)
        for q in others:
            self._v2_move(trader, q, 0, amount)

    # ---- assembly ---------------------------------------------------------------------

    def run(self) -> Dataset:
        self._make_traders()
        self._make_markets()
        if self.crossing:
            self._prepare_conditions()
        self._pool, self._pool_pos = [], 0
        schedule = self._schedule()
        if self.crossing:
            schedule += self._live_schedule()
        i = 0
        while i < len(schedule):
            block = schedule[i][0]
            j = i
            while j < len(schedule) and schedule[j][0] == block:
                j += 1
            ts = self.chain.block_timestamp(block)
            txs = self._block_txs(3 * (j - i) + 1)  # a fill may come with a split and a merge
            for _, m in schedule[i:j]:
                if self.crossing and self._is_v2(ts):
                    self._trade_v2(block, ts, m)
                else:
                    self._trade(txs, block, ts, m)
            i = j
        self._redeem()
        chain_logs = None
        if self.crossing:
            self._resolve_conditions()
            chain_logs = self.logs.store(self.chain.block_at(self.chain_end))
        return Dataset(
            self.chain,
            self._tables(),
            self.chain.block_at(self.o.end_time),
            asdict(self.o),
            chain_logs=chain_logs,
            gamma=GammaCatalog.build(self._market_facts(), self.o.seed, self.horizon_end),
        )

    def _market_facts(self) -> list[MarketFact]:
        return [
            MarketFact(
                condition=m.condition,
                token_ids=m.token_strs,
                open_time=m.open_time,
                resolve_time=m.resolve_time,
                resolved=self._resolved(m),
                winner=m.winner,
                price=m.start_price,
                neg_risk=m.neg_risk,
                question_id=m.question_id,
            )
            for m in self.markets
        ]

    def _late(self, columns: _Columns, salt: int) -> list[int]:
        if not self.o.late_fraction:
            return columns.vis
        late_rng = random.Random(self.o.seed * 1_000_003 + salt)  # leaves the main stream alone
        delay, fraction = self.o.late_delay_blocks, self.o.late_fraction
        return [v + delay if late_rng.random() < fraction else v for v in columns.vis]

    def _tables(self) -> dict[tuple[str, str], Table]:
        specs = {s: entity_specs(s) for s in ("orderbook", "pnl", "activity")}
        tables: dict[tuple[str, str], Table] = {}
        tables[("orderbook", "OrderFilledEvent")] = Table.build(
            specs["orderbook"]["OrderFilledEvent"],
            self.fills.cols,
            self._late(self.fills, 1),
            mutable=False,
            presorted=True,
            derived=order_filled_derived(),
        )
        tables[("activity", "Split")] = Table.build(
            specs["activity"]["Split"],
            self.splits.cols,
            self._late(self.splits, 2),
            mutable=False,
            presorted=True,
        )
        tables[("activity", "Merge")] = Table.build(
            specs["activity"]["Merge"],
            self.merges.cols,
            self._late(self.merges, 3),
            mutable=False,
            presorted=True,
        )
        tables[("activity", "Redemption")] = Table.build(
            specs["activity"]["Redemption"],
            self.redemptions.cols,
            self._late(self.redemptions, 4),
            mutable=False,
        )
        tables.update(self._market_tables(specs))
        tables[("pnl", "UserPosition")] = self._user_positions(specs["pnl"]["UserPosition"])
        return tables

    def _market_tables(self, specs) -> dict[tuple[str, str], Table]:
        chain = self.chain
        market_data = _Columns(("id", "condition", "outcomeIndex"))
        activity_positions = _Columns(("id", "condition", "outcomeIndex"))
        activity_conditions = _Columns(("id",))
        conditions = _Columns(("id", "positionIds", "payoutNumerators", "payoutDenominator"))
        v1_head = chain.block_at(self.v1_end) if self.crossing else None
        for market in self.markets:
            opened = chain.block_at(market.open_time)
            if v1_head is not None and opened > v1_head:
                continue  # created after the cutover: only on chain
            for outcome in (0, 1):
                market_data.add(opened, market.token_strs[outcome], market.condition, outcome)
                activity_positions.add(
                    opened, market.token_strs[outcome], market.condition, outcome
                )
            activity_conditions.add(opened, market.condition)
            conditions.add(opened, market.condition, market.token_ids, (), 0)
            resolved = chain.block_at(market.resolve_time)
            if self._resolved(market) and (v1_head is None or resolved <= v1_head):
                conditions.add(resolved, market.condition, market.token_ids, _payouts(market), 1)
        return {
            ("orderbook", "MarketData"): Table.build(
                specs["orderbook"]["MarketData"], market_data.cols, market_data.vis, mutable=False
            ),
            ("activity", "Position"): Table.build(
                specs["activity"]["Position"],
                activity_positions.cols,
                activity_positions.vis,
                mutable=False,
            ),
            ("activity", "Condition"): Table.build(
                specs["activity"]["Condition"],
                activity_conditions.cols,
                activity_conditions.vis,
                mutable=False,
            ),
            ("pnl", "Condition"): Table.build(
                specs["pnl"]["Condition"], conditions.cols, conditions.vis, mutable=True
            ),
        }

    def _user_positions(self, spec) -> Table:
        ids = self.pos_ids
        rank = array("q", [0]) * len(ids)
        for r, entity in enumerate(sorted(range(len(ids)), key=ids.__getitem__)):
            rank[entity] = r
        ent = self.ver_ent
        # Stable: each entity's versions stay in block order.
        order = sorted(range(len(ent)), key=lambda v: rank[ent[v]])
        states, users, tokens = self.ver_state, self.pos_users, self.pos_tokens
        columns = {
            "id": [ids[ent[v]] for v in order],
            "user": [users[ent[v]] for v in order],
            "tokenId": [tokens[ent[v]] for v in order],
            "amount": [states[0][v] for v in order],
            "avgPrice": [states[1][v] for v in order],
            "realizedPnl": [states[2][v] for v in order],
            "totalBought": [states[3][v] for v in order],
        }
        vis = [self.ver_vis[v] for v in order]
        return Table.build(spec, columns, vis, mutable=True, presorted=True)


def _payouts(market: _Market) -> tuple[int, int]:
    """Payout numerators of a resolved binary market (denominator 1)."""
    return (1, 0) if market.winner == 0 else (0, 1)
