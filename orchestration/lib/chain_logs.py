"""Raw `eth_getLogs` log objects <-> typed rows, for the V2-era Polymarket contracts.

Each event is a frozen dataclass whose event fields are declared in the contract's parameter
order, each with its ABI type and whether it is indexed; that declaration is the whole ABI: the
canonical signature, its topic0 (keccak-256), the decoder and the encoder all come from it.
ABI decoding and encoding is `eth-abi`'s, keccak `eth-utils`'.

Sources of the event declarations:
- `OrderFilled`: CTFExchangeV2 `src/exchange/mixins/Events.sol` (`Polymarket/ctf-exchange-v2`);
  `Side` is a Solidity enum, so it is `uint8` in the signature (0 = BUY, 1 = SELL).
- `ConditionPreparation`, `ConditionResolution`, `PositionSplit`, `PositionsMerge`,
  `PayoutRedemption`: ConditionalTokens `contracts/ConditionalTokens.sol`
  (`gnosis/conditional-tokens-contracts`; `IERC20` parameters are `address`);
  `TransferSingle`, `TransferBatch`: its `contracts/ERC1155/IERC1155.sol`.
- `NegRisk*`: NegRiskAdapter `src/interfaces/INegRiskAdapter.sol`
  (`Polymarket/neg-risk-ctf-adapter`): the same event names as the CTF's with other parameters,
  hence other topic0s.
- `CollateralWrapped`, `CollateralUnwrapped`: pUSD's `Wrapped`/`Unwrapped`, CTFExchangeV2
  `src/collateral/CollateralToken.sol`.

Row fields are the contract's parameter names in snake case, except where a name says little or
is a Python keyword: `from`/`to` -> `from_address`/`to_address`, `id`/`ids` ->
`token_id`/`token_ids`, `value`/`values` -> `amount`/`amounts`. Every row also carries where
its log sits (`ChainLog`). Values: addresses lower-cased hex, bytes32 0x-hex, amounts and token ids
Python ints (token ids are 256-bit: the warehouse keeps them as decimal text), arrays tuples.

Decoding dispatches on topic0 alone, so a row says which contract emitted it (`contract`) and
the caller decides which contracts it asked for. A log whose topic count or data size does not
fit its event is an error, never a guess. A `removed: true` log (a provider retracting a log of
an orphaned block) is never a live row: `decode_log` refuses it and `decode_logs` drops it;
reorgs are handled by re-checking block hashes, not by these retractions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar, Literal

import eth_abi
from eth_abi.exceptions import DecodingError
from eth_utils import keccak


class LogDecodeError(ValueError):
    """A log that cannot be read as the event its topic0 names (or names no known event)."""


class UnknownEventError(LogDecodeError):
    """The log's topic0 is none of the events declared here."""


class RemovedLogError(LogDecodeError):
    """The log is marked `removed`: it belonged to a block that is no longer canonical."""


class Side(IntEnum):
    """CTFExchangeV2 `Structs.sol` `enum Side { BUY, SELL }`, the maker order's side."""

    BUY = 0
    SELL = 1


def topic(abi_type: str, cast: type | None = None) -> Any:
    """An indexed event parameter: one topic."""
    return field(metadata={"abi": abi_type, "indexed": True, "cast": cast})


def data(abi_type: str, cast: type | None = None) -> Any:
    """A non-indexed event parameter: part of the ABI-encoded data."""
    return field(metadata={"abi": abi_type, "indexed": False, "cast": cast})


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainLog:
    """Where a log sits on the chain; the base of every decoded row."""

    event: ClassVar[str]  # the Solidity event name

    contract: str  # the emitting contract (the log's `address`)
    transaction_hash: str
    log_index: int
    block_number: int
    block_hash: str
    block_timestamp: int | None = None  # seconds; only when the provider sends `blockTimestamp`
    transaction_index: int | None = None


_LOCATION_FIELDS = frozenset(f.name for f in dataclasses.fields(ChainLog))


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled(ChainLog):
    """CTFExchangeV2 fill, one per order of a match (DESIGN section 2 says who it credits)."""

    event: ClassVar[str] = "OrderFilled"

    order_hash: str = topic("bytes32")
    maker: str = topic("address")
    taker: str = topic("address")
    side: Side = data("uint8", Side)  # noqa: RUF009 (a dataclasses.field, like the rest)
    token_id: int = data("uint256")
    maker_amount_filled: int = data("uint256")
    taker_amount_filled: int = data("uint256")
    fee: int = data("uint256")
    builder: str = data("bytes32")
    metadata: str = data("bytes32")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionPreparation(ChainLog):
    event: ClassVar[str] = "ConditionPreparation"

    condition_id: str = topic("bytes32")
    oracle: str = topic("address")
    question_id: str = topic("bytes32")
    outcome_slot_count: int = data("uint256")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionResolution(ChainLog):
    event: ClassVar[str] = "ConditionResolution"

    condition_id: str = topic("bytes32")
    oracle: str = topic("address")
    question_id: str = topic("bytes32")
    outcome_slot_count: int = data("uint256")
    payout_numerators: tuple[int, ...] = data("uint256[]")


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionSplit(ChainLog):
    event: ClassVar[str] = "PositionSplit"

    stakeholder: str = topic("address")
    collateral_token: str = data("address")
    parent_collection_id: str = topic("bytes32")
    condition_id: str = topic("bytes32")
    partition: tuple[int, ...] = data("uint256[]")
    amount: int = data("uint256")


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionsMerge(ChainLog):
    event: ClassVar[str] = "PositionsMerge"

    stakeholder: str = topic("address")
    collateral_token: str = data("address")
    parent_collection_id: str = topic("bytes32")
    condition_id: str = topic("bytes32")
    partition: tuple[int, ...] = data("uint256[]")
    amount: int = data("uint256")


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutRedemption(ChainLog):
    event: ClassVar[str] = "PayoutRedemption"

    redeemer: str = topic("address")
    collateral_token: str = topic("address")
    parent_collection_id: str = topic("bytes32")
    condition_id: str = data("bytes32")
    index_sets: tuple[int, ...] = data("uint256[]")
    payout: int = data("uint256")


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferSingle(ChainLog):
    event: ClassVar[str] = "TransferSingle"

    operator: str = topic("address")
    from_address: str = topic("address")
    to_address: str = topic("address")
    token_id: int = data("uint256")
    amount: int = data("uint256")


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferBatch(ChainLog):
    event: ClassVar[str] = "TransferBatch"

    operator: str = topic("address")
    from_address: str = topic("address")
    to_address: str = topic("address")
    token_ids: tuple[int, ...] = data("uint256[]")
    amounts: tuple[int, ...] = data("uint256[]")


@dataclass(frozen=True, slots=True, kw_only=True)
class NegRiskPositionSplit(ChainLog):
    event: ClassVar[str] = "PositionSplit"

    stakeholder: str = topic("address")
    condition_id: str = topic("bytes32")
    amount: int = data("uint256")


@dataclass(frozen=True, slots=True, kw_only=True)
class NegRiskPositionsMerge(ChainLog):
    event: ClassVar[str] = "PositionsMerge"

    stakeholder: str = topic("address")
    condition_id: str = topic("bytes32")
    amount: int = data("uint256")


@dataclass(frozen=True, slots=True, kw_only=True)
class NegRiskPositionsConverted(ChainLog):
    event: ClassVar[str] = "PositionsConverted"

    stakeholder: str = topic("address")
    market_id: str = topic("bytes32")
    index_set: int = topic("uint256")
    amount: int = data("uint256")


@dataclass(frozen=True, slots=True, kw_only=True)
class NegRiskPayoutRedemption(ChainLog):
    event: ClassVar[str] = "PayoutRedemption"

    redeemer: str = topic("address")
    condition_id: str = topic("bytes32")
    amounts: tuple[int, ...] = data("uint256[]")
    payout: int = data("uint256")


@dataclass(frozen=True, slots=True, kw_only=True)
class CollateralWrapped(ChainLog):
    """pUSD minted against a deposited asset (USDC.e) for `to_address`."""

    event: ClassVar[str] = "Wrapped"

    caller: str = topic("address")
    asset: str = topic("address")
    to_address: str = topic("address")
    amount: int = data("uint256")


@dataclass(frozen=True, slots=True, kw_only=True)
class CollateralUnwrapped(ChainLog):
    """pUSD burnt, the asset (USDC.e) released to `to_address`."""

    event: ClassVar[str] = "Unwrapped"

    caller: str = topic("address")
    asset: str = topic("address")
    to_address: str = topic("address")
    amount: int = data("uint256")


# Which contract emits what: the topic0 filters of `eth_getLogs` per address kind.
EXCHANGE_EVENTS: tuple[type[ChainLog], ...] = (OrderFilled,)
CONDITIONAL_TOKENS_EVENTS: tuple[type[ChainLog], ...] = (
    ConditionPreparation,
    ConditionResolution,
    PositionSplit,
    PositionsMerge,
    PayoutRedemption,
    TransferSingle,
    TransferBatch,
)
NEG_RISK_ADAPTER_EVENTS: tuple[type[ChainLog], ...] = (
    NegRiskPositionSplit,
    NegRiskPositionsMerge,
    NegRiskPositionsConverted,
    NegRiskPayoutRedemption,
)
COLLATERAL_EVENTS: tuple[type[ChainLog], ...] = (CollateralWrapped, CollateralUnwrapped)
EVENT_TYPES = (
    EXCHANGE_EVENTS + CONDITIONAL_TOKENS_EVENTS + NEG_RISK_ADAPTER_EVENTS + COLLATERAL_EVENTS
)


@dataclass(frozen=True)
class _Param:
    name: str
    abi: str
    cast: type | None


@dataclass(frozen=True)
class EventSpec:
    """An event's ABI, read off its row class."""

    row_type: type[ChainLog]
    signature: str  # canonical: name(type,type,...), no spaces, no parameter names
    topic0: str
    indexed: tuple[_Param, ...]
    non_indexed: tuple[_Param, ...]

    # Derived once for the decoder, which runs once per log.
    _indexed_names: tuple[str, ...] = field(init=False, repr=False)
    _indexed_types: tuple[str, ...] = field(init=False, repr=False)
    _data_names: tuple[str, ...] = field(init=False, repr=False)
    _data_types: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        derived = {
            "_indexed_names": tuple(p.name for p in self.indexed),
            "_indexed_types": tuple(p.abi for p in self.indexed),
            "_data_names": tuple(p.name for p in self.non_indexed),
            "_data_types": tuple(p.abi for p in self.non_indexed),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)  # frozen: the documented way in

    @classmethod
    def of(cls, row_type: type[ChainLog]) -> EventSpec:
        params = [f for f in dataclasses.fields(row_type) if f.name not in _LOCATION_FIELDS]
        signature = f"{row_type.event}({','.join(f.metadata['abi'] for f in params)})"
        return cls(
            row_type=row_type,
            signature=signature,
            topic0="0x" + keccak(text=signature).hex(),
            indexed=tuple(_param(f) for f in params if f.metadata["indexed"]),
            non_indexed=tuple(_param(f) for f in params if not f.metadata["indexed"]),
        )

    def decode(self, log: Mapping[str, Any]) -> ChainLog:
        topics = log["topics"]
        where = _where(log)
        if len(topics) != 1 + len(self.indexed):
            raise LogDecodeError(
                f"{where}: {self.signature} has {len(self.indexed)} indexed parameters, "
                f"the log has {len(topics) - 1} topics after topic0"
            )
        payload = _hex_bytes(log["data"], "data", where)
        # Every indexed parameter here is a 32-byte static type, and a tuple of those encodes
        # as their words side by side: the topics decode as one tuple, in one call.
        words = [_hex_bytes(t, "topic", where) for t in topics[1:]]
        if any(len(w) != 32 for w in words):
            raise LogDecodeError(f"{where}: a topic is not 32 bytes: {topics[1:]}")
        indexed = b"".join(words)
        try:
            topic_values = eth_abi.decode(self._indexed_types, indexed)
            values = dict(zip(self._indexed_names, topic_values, strict=True))
            values.update(
                zip(self._data_names, eth_abi.decode(self._data_types, payload), strict=True)
            )
        except DecodingError as exc:
            raise LogDecodeError(f"{where}: not a {self.signature} log: {exc}") from None
        if len(payload) != _encoded_size(self.non_indexed, values):
            raise LogDecodeError(
                f"{where}: {self.signature} data has {len(payload)} bytes, "
                f"its canonical encoding {_encoded_size(self.non_indexed, values)}"
            )
        try:
            fields = {p.name: _from_abi(p, values[p.name]) for p in self.indexed + self.non_indexed}
        except ValueError as exc:
            raise LogDecodeError(f"{where}: {self.signature}: {exc}") from None
        return self.row_type(**_location(log, where), **fields)

    def encode(self, row: ChainLog) -> dict[str, Any]:
        topics = [self.topic0] + [
            "0x" + eth_abi.encode([p.abi], [_to_abi(p, getattr(row, p.name))]).hex()
            for p in self.indexed
        ]
        payload = eth_abi.encode(
            [p.abi for p in self.non_indexed],
            [_to_abi(p, getattr(row, p.name)) for p in self.non_indexed],
        )
        log: dict[str, Any] = {
            "address": row.contract,
            "topics": topics,
            "data": "0x" + payload.hex(),
            "blockNumber": hex(row.block_number),
            "transactionHash": row.transaction_hash,
            "blockHash": row.block_hash,
            "logIndex": hex(row.log_index),
            "removed": False,
        }
        if row.transaction_index is not None:
            log["transactionIndex"] = hex(row.transaction_index)
        if row.block_timestamp is not None:
            log["blockTimestamp"] = hex(row.block_timestamp)
        return log


def _param(f: dataclasses.Field) -> _Param:
    return _Param(f.name, f.metadata["abi"], f.metadata["cast"])


def _from_abi(p: _Param, value: Any) -> Any:
    if p.cast is not None:
        return p.cast(value)
    if p.abi == "address":
        return value.lower()
    if p.abi == "bytes32":
        return "0x" + value.hex()
    if p.abi.endswith("[]"):
        return tuple(value)
    return value


def _to_abi(p: _Param, value: Any) -> Any:
    if p.abi == "bytes32":
        raw = bytes.fromhex(value[2:]) if isinstance(value, str) and value[:2] == "0x" else b""
        if len(raw) != 32:  # eth-abi would pad a short value, changing what the row says
            raise ValueError(f"{p.name} must be 32 bytes of 0x-hex, got {value!r}")
        return raw
    if p.cast is not None:
        return int(value)
    return value


def _encoded_size(params: tuple[_Param, ...], values: Mapping[str, Any]) -> int:
    """Bytes of the canonical ABI encoding: a head word each, plus length and items of arrays.

    The events here have only 32-byte static types and arrays of them, so this is exact.
    """
    size = 32 * len(params)
    for p in params:
        if p.abi.endswith("[]"):
            size += 32 + 32 * len(values[p.name])
    return size


def _location(log: Mapping[str, Any], where: str) -> dict[str, Any]:
    try:
        timestamp = log.get("blockTimestamp")
        tx_index = log.get("transactionIndex")
        return {
            "contract": log["address"].lower(),
            "transaction_hash": log["transactionHash"].lower(),
            "log_index": _quantity(log["logIndex"]),
            "block_number": _quantity(log["blockNumber"]),
            "block_hash": log["blockHash"].lower(),
            "block_timestamp": None if timestamp is None else _quantity(timestamp),
            "transaction_index": None if tx_index is None else _quantity(tx_index),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise LogDecodeError(f"{where}: malformed log location field: {exc!r}") from None


def _quantity(value: str) -> int:
    """A JSON-RPC quantity: 0x-prefixed hex."""
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"expected a 0x-hex quantity, got {value!r}")
    return int(value, 16)


def _hex_bytes(value: Any, what: str, where: str) -> bytes:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise LogDecodeError(f"{where}: {what} is not 0x-hex: {value!r}")


def _topic0(log: Mapping[str, Any]) -> str | None:
    topics = log.get("topics") or ()
    return topics[0].lower() if topics and isinstance(topics[0], str) else None


def _where(log: Mapping[str, Any]) -> str:
    return f"log {log.get('transactionHash', '?')}#{log.get('logIndex', '?')}"


SPECS: dict[type[ChainLog], EventSpec] = {t: EventSpec.of(t) for t in EVENT_TYPES}
_BY_TOPIC0: dict[str, EventSpec] = {s.topic0: s for s in SPECS.values()}
if len(_BY_TOPIC0) != len(SPECS):  # dispatch on topic0 alone relies on it
    raise RuntimeError("two declared events share a topic0")


def topic0(row_type: type[ChainLog]) -> str:
    """The topic0 of an event: keccak-256 of its canonical signature, 0x-hex."""
    return SPECS[row_type].topic0


def is_known(log: Mapping[str, Any]) -> bool:
    """Whether the log's topic0 is one of the events declared here."""
    return _topic0(log) in _BY_TOPIC0


def decode_log(log: Mapping[str, Any]) -> ChainLog:
    """One `eth_getLogs` log object -> its typed row.

    Raises `RemovedLogError` for a removed log, `UnknownEventError` for a topic0 declared
    nowhere here, `LogDecodeError` for a log that does not fit its event.
    """
    if log.get("removed"):
        raise RemovedLogError(f"{_where(log)}: removed log (its block was orphaned)")
    spec = _BY_TOPIC0.get(_topic0(log))
    if spec is None:
        raise UnknownEventError(f"{_where(log)}: unknown event topic0 {_topic0(log)}")
    return spec.decode(log)


def decode_logs(
    logs: Iterable[Mapping[str, Any]], *, unknown: Literal["raise", "skip"] = "raise"
) -> Iterator[ChainLog]:
    """Rows of the live logs, in input order; removed logs are dropped.

    With `unknown="skip"` logs of undeclared events (ERC-20 transfers, other contracts' events)
    are passed over; with "raise" (the default) the first one stops the iteration.
    """
    if unknown not in ("raise", "skip"):
        raise ValueError(f"unknown must be 'raise' or 'skip', got {unknown!r}")
    for log in logs:
        if log.get("removed"):
            continue
        if unknown == "skip" and not is_known(log):
            continue
        yield decode_log(log)


def encode_log(row: ChainLog) -> dict[str, Any]:
    """The inverse of `decode_log`: the log object the contract's emit gives, byte for byte."""
    spec = SPECS.get(type(row))
    if spec is None:
        raise TypeError(f"not an event row: {type(row).__name__}")
    return spec.encode(row)
