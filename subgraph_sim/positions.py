"""Position accounting of the pnl subgraph (DESIGN section 2), in integer raw units.

Amounts are shares x 1e6, prices x 1e6, PnL USDC x 1e6. Divisions truncate toward zero
as the subgraph's BigInt arithmetic does. A position is a mutable list
`[amount, avg_price, realized_pnl, total_bought]`.
"""

from __future__ import annotations

ONE = 1_000_000  # 1.0 in raw units
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


def fill_buy_price(usdc: int, shares: int, fee: int) -> int:
    """Price per share received net of the fee (the fee is taken in shares on a BUY)."""
    return tdiv(usdc * ONE, shares - fee)


def fill_sell_price(usdc: int, shares: int, fee: int) -> int:
    """Price per share net of the fee (the fee is taken in USDC on a SELL)."""
    return tdiv((usdc - fee) * ONE, shares)
