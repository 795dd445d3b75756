"""Position accounting of Polymarket's pnl subgraph (`UserPosition`), in integer raw units.

Mirrors the public Polymarket/polymarket-subgraph repository, `pnl-subgraph/src` (read at
commit 7a92ba026a94; the pnl mapping last changed in 37316dd, 2024-04-05):
- `utils/updateUserPositionWithBuy.ts`: a buy of `amount > 0` moves
  `avgPrice = (avgPrice x amount + price x bought) / (amount + bought)` and adds to
  `amount` and `totalBought`; a buy of nothing changes (and saves) nothing.
- `utils/updateUserPositionWithSell.ts`: a sell is capped at the tracked `amount` ("the user
  obtained tokens outside of what we track"), realizes `qty x (price - avgPrice) / 1e6`, and
  never moves `avgPrice`; it saves the entity even when it sells nothing.
- `ExchangeMapping.ts` with `utils/parseOrderFilled.ts`: every `OrderFilled` is the maker's;
  `price = quoteAmount x 1e6 / baseAmount` (USDC per share of the whole fill) and the amount is
  the whole `baseAmount`: the `fee` field is never read, so a buy counts its fee shares and a
  sell its USDC before the fee.
- `ConditionalTokensMapping.ts`: a split buys both outcomes at `FIFTY_CENTS`
  (`COLLATERAL_SCALE / 2`, `common/constants.template.ts`), a merge sells both at it, a
  redemption sells the whole tracked amount of both outcomes at
  `payoutNumerator x 1e6 / payoutDenominator`; `NegRiskAdapterMapping.ts` redeems the amounts
  its event names instead.
All of it is graph-ts `BigInt` arithmetic: `div` truncates toward zero (so a negative realized
delta rounds up), which `tdiv` reproduces.

Amounts are shares x 1e6, prices x 1e6, PnL USDC x 1e6. A position is a mutable list
`[amount, avg_price, realized_pnl, total_bought]`.
"""

from __future__ import annotations

ONE = 1_000_000  # COLLATERAL_SCALE: 1.0 in raw units
FIFTY_CENTS = ONE // 2
AMOUNT, AVG_PRICE, REALIZED_PNL, TOTAL_BOUGHT = range(4)


def tdiv(a: int, b: int) -> int:
    """Integer division truncating toward zero (BigInt semantics), not flooring."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def new_position() -> list[int]:
    return [0, 0, 0, 0]


def buy(pos: list[int], price: int, quantity: int) -> None:
    """Receive `quantity` shares at `price` (x 1e6): moves the average cost."""
    if quantity <= 0:
        return
    amount = pos[AMOUNT]
    pos[AVG_PRICE] = tdiv(pos[AVG_PRICE] * amount + price * quantity, amount + quantity)
    pos[AMOUNT] = amount + quantity
    pos[TOTAL_BOUGHT] += quantity


def sell(pos: list[int], price: int, quantity: int) -> int:
    """Give up to `quantity` shares at `price`; capped at the shares held. Returns the qty."""
    qty = min(quantity, pos[AMOUNT])
    if qty <= 0:
        return 0
    pos[REALIZED_PNL] += tdiv(qty * (price - pos[AVG_PRICE]), ONE)
    pos[AMOUNT] -= qty
    return qty


def fill_price(usdc: int, shares: int) -> int:
    """An order fill's price as handleOrderFilled computes it: fees left out, truncated."""
    return tdiv(usdc * ONE, shares)


def payout_price(numerator: int, denominator: int) -> int:
    """What a redemption sells an outcome at: its payout x 1e6, truncated."""
    return tdiv(numerator * ONE, denominator)
