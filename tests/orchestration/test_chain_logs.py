"""Chain logs decode to the rows the contracts meant, and encode back to the same bytes.

The real data: the V2 MINT receipt 0xc1375cac…e609 in shared/data/chain (its README says what
each log holds).
"""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from orchestration.lib import chain_logs as cl
from orchestration.lib import ctf
from tests.shared_data import shared_path

pytestmark = pytest.mark.chain

EXCHANGE = "0xe111180000d2663c0091e4f400237545b87b996b"
CONDITIONAL_TOKENS = "0x4d97dcd97ec945f40cf65f87097ace5ea0476045"
PUSD = "0xc011a7e12a19f7b1f670d46f03b03f3342e82dfb"
ADAPTER = "0xada100874d00e3331d00f2007a9c336a65009718"  # CtfCollateralAdapter, gen 1
MAKER = "0xf5183756a0be58aa0b0960f1e2d2451894b631d5"
TAKER = "0x361b766227db19d4c8037595a9d4ced9fad81a24"
CONDITION = "0x182390641d3b1b47cc64274b9da290efd04221c586651ba190880713da6347d9"
ZERO32 = "0x" + "00" * 32
ZERO_ADDRESS = "0x" + "00" * 20
TX = "0xc1375cac7b7fd147d57b2cfd639b0a295aa1fa56af3ec00b5de31fba3f00e609"
BLOCK = {
    "transaction_hash": TX,
    "block_number": 85_671_485,
    "block_hash": "0x2da002112465281e859d3376fa7b722b2851316243e16a9a995b43ff63145765",
    "block_timestamp": 1_776_463_014,  # 2026-04-17 21:56:54 UTC
    "transaction_index": 0,
}
YES, NO = ctf.token_ids(CONDITION, ctf.USDC_E)  # outcome 0 and 1 of the traded condition

# topic0 of every event, as published: OrderFilled in the reference fact sheet (section 2) and
# CTFExchangeV2 Events.sol; TransferSingle, TransferBatch, CTF PositionSplit and pUSD Unwrapped
# as the receipt's logs carry them; the others as the NegRiskAdapter / ConditionalTokens
# abigen bindings and public indexers' topic tables list them.
TOPIC0 = {
    cl.OrderFilled: "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee",
    cl.ConditionPreparation: "0xab3760c3bd2bb38b5bcf54dc79802ed67338b4cf29f3054ded67ed24661e4177",
    cl.ConditionResolution: "0xb44d84d3289691f71497564b85d4233648d9dbae8cbdbb4329f301c3a0185894",
    cl.PositionSplit: "0x2e6bb91f8cbcda0c93623c54d0403a43514fabc40084ec96b6d5379a74786298",
    cl.PositionsMerge: "0x6f13ca62553fcc2bcd2372180a43949c1e4cebba603901ede2f4e14f36b282ca",
    cl.PayoutRedemption: "0x2682012a4a4f1973119f1c9b90745d1bd91fa2bab387344f044cb3586864d18d",
    cl.TransferSingle: "0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62",
    cl.TransferBatch: "0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb",
    cl.NegRiskPositionSplit: "0xbbed930dbfb7907ae2d60ddf78345610214f26419a0128df39b6cc3d9e5df9b0",
    cl.NegRiskPositionsMerge: "0xba33ac50d8894676597e6e35dc09cff59854708b642cd069d21eb9c7ca072a04",
    cl.NegRiskPositionsConverted: (
        "0xb03d19dddbc72a87e735ff0ea3b57bef133ebe44e1894284916a84044deb367e"
    ),
    cl.NegRiskPayoutRedemption: (
        "0x9140a6a270ef945260c03894b3c6b3b2695e9d5101feef0ff24fec960cfd3224"
    ),
    cl.CollateralWrapped: "0xc00a5c84859ae82a7f5e6a2773283fb525335d5b3195f61174aa1ecc7e15dd84",
    cl.CollateralUnwrapped: "0x18b42b684d0b621cc609f4d888916e5ed9e934a476259ec1c11ec116f2b9aa7f",
}

# Which parameters are indexed, in declaration order, as the deployed ABIs say
# (polymarket-subgraph abis/ConditionalTokens.json and abis/NegRiskAdapter.json; CTFExchangeV2
# Events.sol and CollateralToken.sol for OrderFilled and Wrapped/Unwrapped). topic0 checks the
# types and their order; only this checks what goes to topics and what to data.
INDEXED = {
    cl.OrderFilled: (1, 1, 1, 0, 0, 0, 0, 0, 0, 0),
    cl.ConditionPreparation: (1, 1, 1, 0),
    cl.ConditionResolution: (1, 1, 1, 0, 0),
    cl.PositionSplit: (1, 0, 1, 1, 0, 0),
    cl.PositionsMerge: (1, 0, 1, 1, 0, 0),
    cl.PayoutRedemption: (1, 1, 1, 0, 0, 0),
    cl.TransferSingle: (1, 1, 1, 0, 0),
    cl.TransferBatch: (1, 1, 1, 0, 0),
    cl.NegRiskPositionSplit: (1, 1, 0),
    cl.NegRiskPositionsMerge: (1, 1, 0),
    cl.NegRiskPositionsConverted: (1, 1, 1, 0),
    cl.NegRiskPayoutRedemption: (1, 1, 0, 0),
    cl.CollateralWrapped: (1, 1, 1, 0),
    cl.CollateralUnwrapped: (1, 1, 1, 0),
}


@pytest.fixture(scope="module")
def receipt_logs() -> list[dict]:
    path = shared_path("data", "chain", "receipt-0xc1375cac.json")
    return json.loads(path.read_text())["result"]["logs"]


def by_index(logs: list[dict], index: int) -> dict:
    (log,) = [entry for entry in logs if int(entry["logIndex"], 16) == index]
    return log


def mangled(log: dict, **changes) -> dict:
    """A copy of a log with some fields replaced."""
    out = copy.deepcopy(log)
    out.update(changes)
    return out


@pytest.mark.parametrize("row_type", list(TOPIC0), ids=lambda t: t.__name__)
def test_topic0_is_the_published_hash_of_the_signature(row_type):
    assert cl.topic0(row_type) == TOPIC0[row_type]


@pytest.mark.parametrize("row_type", list(INDEXED), ids=lambda t: t.__name__)
def test_indexed_parameters_are_those_of_the_contract_abi(row_type):
    spec = cl.SPECS[row_type]
    declared = [f for f in dataclasses.fields(row_type) if "abi" in f.metadata]
    assert tuple(int(f.metadata["indexed"]) for f in declared) == INDEXED[row_type]
    assert len(spec.indexed) == sum(INDEXED[row_type])


def test_every_declared_event_is_checked():
    assert set(cl.EVENT_TYPES) == set(TOPIC0) == set(INDEXED)


def test_the_receipt_decodes_to_exactly_its_two_order_fills(receipt_logs):
    fills = [r for r in cl.decode_logs(receipt_logs, unknown="skip") if type(r) is cl.OrderFilled]
    assert fills == [
        cl.OrderFilled(
            contract=EXCHANGE,
            log_index=13,
            **BLOCK,
            order_hash="0xe98b71bc7ea7faf94ef995c72871dbdf7f0247151d6cbb9cc15d6e38fe2fc5d6",
            maker=MAKER,
            taker=TAKER,
            side=cl.Side.BUY,
            token_id=YES,
            maker_amount_filled=1_083_333,
            taker_amount_filled=2_083_332,
            fee=0,
            builder=ZERO32,
            metadata=ZERO32,
        ),
        cl.OrderFilled(
            contract=EXCHANGE,
            log_index=15,
            **BLOCK,
            order_hash="0x99c7919a43f8aec7d4ba70a258691ddefa11f274ffe82c49369743047d927630",
            maker=TAKER,
            taker=EXCHANGE,
            side=cl.Side.BUY,
            token_id=NO,
            maker_amount_filled=999_999,
            taker_amount_filled=2_083_332,
            fee=0,
            builder=ZERO32,
            metadata=ZERO32,
        ),
    ]


def test_the_receipt_settlement_split_decodes_as_its_readme_says(receipt_logs):
    rows = {r.log_index: r for r in cl.decode_logs(receipt_logs, unknown="skip")}
    assert sorted(rows) == [6, 9, 10, 11, 12, 13, 14, 15]
    amount = 2_083_332
    assert rows[6] == cl.CollateralUnwrapped(
        contract=PUSD,
        log_index=6,
        **BLOCK,
        caller=ADAPTER,
        asset=ctf.USDC_E,
        to_address=ADAPTER,
        amount=amount,
    )
    # The adapter mints both outcome tokens to itself (from = 0), splitting USDC.e...
    assert rows[9] == cl.TransferBatch(
        contract=CONDITIONAL_TOKENS,
        log_index=9,
        **BLOCK,
        operator=ADAPTER,
        from_address=ZERO_ADDRESS,
        to_address=ADAPTER,
        token_ids=(YES, NO),
        amounts=(amount, amount),
    )
    assert rows[10] == cl.PositionSplit(
        contract=CONDITIONAL_TOKENS,
        log_index=10,
        **BLOCK,
        stakeholder=ADAPTER,
        collateral_token=ctf.USDC_E,
        parent_collection_id=ZERO32,
        condition_id=CONDITION,
        partition=(1, 2),
        amount=amount,
    )
    # ...hands them to the exchange (a settlement leg, not a user's split)...
    assert rows[11] == cl.TransferBatch(
        contract=CONDITIONAL_TOKENS,
        log_index=11,
        **BLOCK,
        operator=ADAPTER,
        from_address=ADAPTER,
        to_address=EXCHANGE,
        token_ids=(YES, NO),
        amounts=(amount, amount),
    )
    # ...which delivers each outcome to the order that bought it.
    assert rows[12] == cl.TransferSingle(
        contract=CONDITIONAL_TOKENS,
        log_index=12,
        **BLOCK,
        operator=EXCHANGE,
        from_address=EXCHANGE,
        to_address=MAKER,
        token_id=YES,
        amount=amount,
    )
    assert rows[14] == cl.TransferSingle(
        contract=CONDITIONAL_TOKENS,
        log_index=14,
        **BLOCK,
        operator=EXCHANGE,
        from_address=EXCHANGE,
        to_address=TAKER,
        token_id=NO,
        amount=amount,
    )


@pytest.mark.parametrize("index", [6, 9, 10, 11, 12, 13, 14, 15])
def test_encoding_a_decoded_receipt_log_gives_the_log_back(receipt_logs, index):
    log = by_index(receipt_logs, index)
    assert cl.encode_log(cl.decode_log(log)) == log


def test_a_log_without_block_timestamp_decodes_and_encodes_without_one(receipt_logs):
    log = copy.deepcopy(by_index(receipt_logs, 13))
    del log["blockTimestamp"]
    row = cl.decode_log(log)
    assert row.block_timestamp is None
    assert cl.encode_log(row) == log


def test_addresses_and_hashes_are_lower_cased_whatever_the_provider_sends(receipt_logs):
    log = by_index(receipt_logs, 13)
    shouting = mangled(
        log,
        address="0xE111180000d2663C0091e4f400237545B87B996B",
        topics=[t.upper().replace("0X", "0x") for t in log["topics"]],
        transactionHash=log["transactionHash"].upper().replace("0X", "0x"),
        blockHash=log["blockHash"].upper().replace("0X", "0x"),
    )
    assert cl.decode_log(shouting) == cl.decode_log(log)


# One row of each event the receipt lacks, with values that fill every word: encoding it gives
# the contract's layout (checked above by topic0 and indexing), decoding that gives it back.
LOCATION = {"contract": "0x" + "ab" * 20, "log_index": 3, **BLOCK}
BIG = 2**256 - 1
OTHER_ROWS = [
    cl.ConditionPreparation(
        **LOCATION,
        condition_id=CONDITION,
        oracle=ctf.NEG_RISK_ADAPTER,
        question_id="0x" + "cd" * 32,
        outcome_slot_count=2,
    ),
    cl.ConditionResolution(
        **LOCATION,
        condition_id=CONDITION,
        oracle=ctf.NEG_RISK_ADAPTER,
        question_id="0x" + "cd" * 32,
        outcome_slot_count=2,
        payout_numerators=(0, 1),
    ),
    cl.PositionsMerge(
        **LOCATION,
        stakeholder=TAKER,
        collateral_token=ctf.USDC_E,
        parent_collection_id=ZERO32,
        condition_id=CONDITION,
        partition=(1, 2),
        amount=BIG,
    ),
    cl.PayoutRedemption(
        **LOCATION,
        redeemer=MAKER,
        collateral_token=ctf.NEG_RISK_WRAPPED_COLLATERAL,
        parent_collection_id=ZERO32,
        condition_id=CONDITION,
        index_sets=(1, 2),
        payout=5_000_000,
    ),
    cl.NegRiskPositionSplit(**LOCATION, stakeholder=MAKER, condition_id=CONDITION, amount=7),
    cl.NegRiskPositionsMerge(**LOCATION, stakeholder=MAKER, condition_id=CONDITION, amount=7),
    cl.NegRiskPositionsConverted(
        **LOCATION,
        stakeholder=MAKER,
        market_id="0x" + "cc" * 31 + "00",
        index_set=0b1011,
        amount=10_000_000,
    ),
    cl.NegRiskPayoutRedemption(
        **LOCATION, redeemer=MAKER, condition_id=CONDITION, amounts=(3, 0), payout=3
    ),
    cl.CollateralWrapped(
        **LOCATION, caller=ADAPTER, asset=ctf.USDC_E, to_address=MAKER, amount=1_000_000
    ),
    cl.OrderFilled(
        **LOCATION,
        order_hash="0x" + "11" * 32,
        maker=MAKER,
        taker=TAKER,
        side=cl.Side.SELL,
        token_id=BIG,
        maker_amount_filled=2,
        taker_amount_filled=1,
        fee=1,
        builder="0x" + "22" * 32,
        metadata="0x" + "33" * 32,
    ),
]


@pytest.mark.parametrize("row", OTHER_ROWS, ids=lambda r: type(r).__name__)
def test_every_event_round_trips_through_its_log(row):
    log = cl.encode_log(row)
    assert log["topics"][0] == cl.topic0(type(row))
    assert len(log["topics"]) == 1 + len(cl.SPECS[type(row)].indexed)
    assert cl.decode_log(log) == row


def test_a_sell_fill_reads_side_one(receipt_logs):
    log = copy.deepcopy(by_index(receipt_logs, 13))
    log["data"] = "0x" + "00" * 31 + "01" + log["data"][2 + 64 :]
    assert cl.decode_log(log).side is cl.Side.SELL


def test_unknown_events_stop_decoding_unless_skipped(receipt_logs):
    with pytest.raises(cl.UnknownEventError, match=r"#0x0: unknown event topic0 0xddf252ad"):
        list(cl.decode_logs(receipt_logs))
    with pytest.raises(cl.UnknownEventError):
        cl.decode_log(by_index(receipt_logs, 16))  # OrdersMatched: not declared here
    assert len(list(cl.decode_logs(receipt_logs, unknown="skip"))) == 8
    with pytest.raises(ValueError, match="unknown must be"):
        list(cl.decode_logs(receipt_logs, unknown="ignore"))


def test_removed_logs_are_never_live_rows(receipt_logs):
    removed = copy.deepcopy(by_index(receipt_logs, 13))
    removed["removed"] = True
    with pytest.raises(cl.RemovedLogError, match="removed"):
        cl.decode_log(removed)
    live = by_index(receipt_logs, 15)
    assert [r.log_index for r in cl.decode_logs([removed, live])] == [15]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda log: mangled(log, topics=log["topics"][:3]), "3 indexed parameters"),
        (lambda log: mangled(log, data=log["data"][:-64]), "not a OrderFilled"),
        (lambda log: mangled(log, data=log["data"] + "00" * 32), "canonical encoding"),
        (lambda log: mangled(log, data="0x" + "00" * 31 + "02" + log["data"][66:]), "Side"),
        (
            lambda log: mangled(
                log, topics=[*log["topics"][:2], "0x01" + log["topics"][2][4:], log["topics"][3]]
            ),
            "Padding bytes",
        ),
        (
            # 96 bytes in all, so only the per-topic check sees the shifted words
            lambda log: mangled(
                log, topics=[*log["topics"][:2], log["topics"][2] + "00", log["topics"][3][:-2]]
            ),
            "not 32 bytes",
        ),
        (lambda log: mangled(log, data="0xzz"), "data is not 0x-hex"),
        (lambda log: mangled(log, blockNumber=85_671_485), "0x-hex quantity"),
        (lambda log: {k: v for k, v in log.items() if k != "blockHash"}, "blockHash"),
    ],
    ids=[
        "missing-topic",
        "short-data",
        "trailing-data",
        "side-2",
        "dirty-address-topic",
        "topic-not-32-bytes",
        "bad-hex",
        "number-not-hex",
        "no-block-hash",
    ],
)
def test_a_log_that_does_not_fit_its_event_is_a_clear_error(receipt_logs, change, message):
    with pytest.raises(cl.LogDecodeError, match=message) as raised:
        cl.decode_log(change(by_index(receipt_logs, 13)))
    assert str(raised.value).startswith(f"log {TX}#0xd: ")  # which log, for the operator


def test_encoding_refuses_what_is_not_an_event_row():
    with pytest.raises(TypeError, match="not an event row"):
        cl.encode_log(cl.ChainLog(**LOCATION))


def test_encoding_refuses_a_bytes32_that_is_not_32_bytes():
    row = dataclasses.replace(OTHER_ROWS[0], question_id="0x1234")
    with pytest.raises(ValueError, match="question_id must be 32 bytes"):
        cl.encode_log(row)
