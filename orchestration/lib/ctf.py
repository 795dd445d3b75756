"""ConditionalTokens ids, computed as the contract computes them.

Every outcome token on Polymarket is an ERC-1155 position of the ConditionalTokens contract
(Polygon `0x4D97DCd97eC945f40cF65F87097ACe5EA0476045`, deployed from
`gnosis/conditional-tokens-contracts`). Its ids are derived in `contracts/CTHelpers.sol`:

- `getConditionId(oracle, questionId, outcomeSlotCount)`
  = keccak256(abi.encodePacked(address, bytes32, uint256));
- `getCollectionId(parentCollectionId, conditionId, indexSet)`: keccak256(conditionId, indexSet)
  is hashed onto the alt_bn128 curve y² = x³ + 3 (x is incremented until x³ + 3 is a square;
  the hash's top bit picks which of the two y), added to the parent's point when there is a
  parent (the ecAdd precompile, address 6), and compressed back to 32 bytes as x with bit 254
  set when y is odd;
- `getPositionId(collateralToken, collectionId)`
  = uint256(keccak256(abi.encodePacked(address, bytes32))): the ERC-1155 token id.

Polymarket's markets are binary and never nest collections, so a condition's token ids are the
positions of index sets 1 and 2 (outcome 0 and outcome 1) under no parent. Their collateral is
what the CTF was split from, which is not what users hold: standard markets are split from
USDC.e, neg-risk markets (prepared by the NegRiskAdapter, which is then the condition's oracle)
from the adapter's WrappedCollateral (`Polymarket/neg-risk-ctf-adapter` `src/NegRiskAdapter.sol`
splits `address(wcol)`; its address per `addresses.json` and `polymarket-subgraph`
`networks.yaml`). The V2 collateral adapters unwrap pUSD before calling the CTF, so V2 tokens
keep these collaterals.

Curve arithmetic: the square root is plain modular exponentiation, since P % 4 == 3 makes
yy^((P+1)/4) a root whenever one exists (CTHelpers.sqrt's addition chain computes exactly that
power). The point addition of a parent collection is py_ecc's alt_bn128 `add`, the library behind
the Python EVM's ecAdd precompile, so doubling and the point at infinity follow the precompile
rather than a hand-rolled formula.

Ids are passed and returned as 0x-prefixed hex (conditions, collections, addresses) and Python
ints (position ids: 256-bit, beyond any SQL integer type; store them as decimal text).
"""

from __future__ import annotations

from eth_utils import keccak
from py_ecc import optimized_bn128 as bn128

# Polygon addresses (overridable by callers; the defaults are mainnet's).
USDC_E = "0x2791bca1f2de4661ed88a30c99a7a9449aa84174"
NEG_RISK_ADAPTER = "0xd91e80cf2e7be2e162c6513ced06f1dd0da35296"
NEG_RISK_WRAPPED_COLLATERAL = "0x3a3bd7bb9528e159577f7c2e685cc81a765002e2"

ZERO_COLLECTION = "0x" + "00" * 32

# alt_bn128 base field modulus and curve constant (CTHelpers.P, CTHelpers.B).
P = 21888242871839275222246405745257275088696311157297823662689037894645226208583
B = 3
_SQRT_EXPONENT = (P + 1) // 4
_Y_ODD_FLAG = 1 << 254
_UINT256 = 1 << 256


def condition_id(oracle: str, question_id: str, outcome_slot_count: int) -> str:
    """CTHelpers.getConditionId; the CTF accepts 2 to 256 outcome slots (prepareCondition)."""
    if not 2 <= outcome_slot_count <= 256:
        raise ValueError(f"outcome_slot_count must be 2..256, got {outcome_slot_count}")
    packed = _address(oracle) + _bytes32(question_id) + outcome_slot_count.to_bytes(32, "big")
    return "0x" + keccak(packed).hex()


def collection_id(parent_collection_id: str, condition_id: str, index_set: int) -> str:
    """CTHelpers.getCollectionId: the outcome collection `index_set` of a condition, in a parent.

    `index_set` is a bit mask of outcome slots (bit i = outcome i). With a parent, the result is
    the curve sum of both collections, so nesting order does not change it.
    """
    if not 0 <= index_set < _UINT256:
        raise ValueError(f"index_set must be a uint256, got {index_set}")
    digest = keccak(_bytes32(condition_id) + index_set.to_bytes(32, "big"))
    x = int.from_bytes(digest, "big")
    odd = x >> 255 != 0
    while True:  # the contract's do-while: about half of all x have a point
        x = (x + 1) % P
        yy = (x * x * x + B) % P
        y = pow(yy, _SQRT_EXPONENT, P)
        if y * y % P == yy:
            break
    if odd != (y % 2 == 1):
        y = P - y

    parent = int.from_bytes(_bytes32(parent_collection_id), "big")
    if parent:
        x, y = _add_points((x, y), _decompress(parent, parent_collection_id))

    if y % 2 == 1:
        x ^= _Y_ODD_FLAG
    return "0x" + x.to_bytes(32, "big").hex()


def position_id(collateral: str, collection_id: str) -> int:
    """CTHelpers.getPositionId: the ERC-1155 token id of a collection backed by a collateral."""
    return int.from_bytes(keccak(_address(collateral) + _bytes32(collection_id)), "big")


def token_ids(condition_id: str, collateral: str, outcomes: int = 2) -> tuple[int, ...]:
    """The token id of each outcome slot (index set 1 << i), in outcome order, with no parent."""
    if not 2 <= outcomes <= 256:
        raise ValueError(f"outcomes must be 2..256, got {outcomes}")
    return tuple(
        position_id(collateral, collection_id(ZERO_COLLECTION, condition_id, 1 << i))
        for i in range(outcomes)
    )


def ctf_collateral(
    oracle: str,
    *,
    neg_risk_adapter: str = NEG_RISK_ADAPTER,
    neg_risk_collateral: str = NEG_RISK_WRAPPED_COLLATERAL,
    default_collateral: str = USDC_E,
) -> str:
    """The collateral a condition's positions are split from, told by its oracle.

    Conditions whose oracle is the NegRiskAdapter are split by the adapter from its
    WrappedCollateral (NegRiskAdapter.splitPosition); every other Polymarket condition is split
    from USDC.e. Returned lower-cased.
    """
    if oracle.lower() == neg_risk_adapter.lower():
        return neg_risk_collateral.lower()
    return default_collateral.lower()


def neg_risk_question_id(market_id: str, question_index: int) -> str:
    """NegRiskIdLib.getQuestionId: a neg-risk market's question `question_index` (0..255).

    Market ids have their last byte zero (NegRiskIdLib.getMarketId masks it), so the question
    id is the market id with the index in that byte.
    """
    if not 0 <= question_index <= 255:
        raise ValueError(f"question_index must be 0..255, got {question_index}")
    value = (int.from_bytes(_bytes32(market_id), "big") + question_index) % _UINT256
    return "0x" + value.to_bytes(32, "big").hex()


def _decompress(packed: int, text: str) -> tuple[int, int]:
    """The curve point of a collection id, as getCollectionId unpacks its parent."""
    odd = packed >> 254 != 0
    x = packed & (_Y_ODD_FLAG - 1)
    yy = (x * x * x + B) % P
    y = pow(yy, _SQRT_EXPONENT, P)
    if odd != (y % 2 == 1):
        y = P - y
    # The contract reverts on a point off the curve ("invalid parent collection ID") and the
    # precompile on a coordinate outside the field ("ecadd failed").
    if x >= P or y * y % P != yy:
        raise ValueError(f"invalid parent collection id {text}")
    return x, y


def _add_points(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """ecAdd of two affine points; the point at infinity comes back as (0, 0), as from ecAdd."""
    total = bn128.add(
        (bn128.FQ(a[0]), bn128.FQ(a[1]), bn128.FQ.one()),
        (bn128.FQ(b[0]), bn128.FQ(b[1]), bn128.FQ.one()),
    )
    if bn128.is_inf(total):
        return 0, 0
    x, y = bn128.normalize(total)
    return int(x), int(y)


def _bytes32(value: str) -> bytes:
    raw = _hex_bytes(value, "bytes32")
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes of hex, got {value!r}")
    return raw


def _address(value: str) -> bytes:
    raw = _hex_bytes(value, "address")
    if len(raw) != 20:
        raise ValueError(f"expected a 20-byte address, got {value!r}")
    return raw


def _hex_bytes(value: str, kind: str) -> bytes:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise ValueError(f"expected a 0x-prefixed hex {kind}, got {value!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise ValueError(f"expected a 0x-prefixed hex {kind}, got {value!r}") from None
