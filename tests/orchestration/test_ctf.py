"""ConditionalTokens ids reproduce the contract's, vector by vector.

Vectors from the public `Polymarket/polymarket-subgraph` repository at commit
7a92ba026a9466c07381e0d245a323ba23ee8701, whose matchstick tests check its AssemblyScript port
of CTHelpers against on-chain ids; and from a real V2 receipt (shared/data/chain).
"""

from __future__ import annotations

import pytest

from orchestration.lib import ctf

pytestmark = pytest.mark.chain

ZERO = ctf.ZERO_COLLECTION

# tests/getCollectionId.test.ts: (conditionId, outcome index, expected collectionId). The test's
# outcome index i is index set 1 << i; the second condition's hashes have the top bit set
# ("odd"), which flips the sign of y.
COLLECTION_IDS = [
    (
        "0xdb4ab1dbbedd6aeec17aa6e3f66262cff0e3b04742dd3acdf99652575e5422f8",
        0,
        "0x12adf3dfeaddeef8f31fa86654bf367c5c7b1e854dff407d7c87ff76af4ad16d",
    ),
    (
        "0xdb4ab1dbbedd6aeec17aa6e3f66262cff0e3b04742dd3acdf99652575e5422f8",
        1,
        "0x2f5ebcc5972889a57d587b7088d543bbf464fbdd2b2c4cb7c276ca3d4d70415b",
    ),
    (
        "0xda558eddf6eb57760bd5371fb313167f871d823a16e9d66fccb292baf2a117c0",
        0,
        "0x45ca66c3edbdbf0fbd03366cf395d3663ee3b34c4db07964bb60e3c7ca7e20e2",
    ),
    (
        "0xda558eddf6eb57760bd5371fb313167f871d823a16e9d66fccb292baf2a117c0",
        1,
        "0x416929e8901456139abeec231eba635f911a240961f78919665280c69288ee0d",
    ),
]

# tests/getPositionId.test.ts (negRisk=false: USDC.e; negRisk=true: the NegRiskAdapter's
# WrappedCollateral) and tests/computePositionId.test.ts (an explicit collateral):
# (collateral, conditionId, outcome index, expected positionId).
POSITION_IDS = [
    (
        ctf.USDC_E,
        "0xfc690d5069b296bb9278af0cba42c02666e0999e4a4009ed97ea4a885f045457",
        0,
        73716170047628147940237270507900673332129573201293655532643868111690843426372,
    ),
    (
        ctf.USDC_E,
        "0xfc690d5069b296bb9278af0cba42c02666e0999e4a4009ed97ea4a885f045457",
        1,
        2890213445014127424511466931609154310536269586265875141655148162320150952197,
    ),
    (
        ctf.NEG_RISK_WRAPPED_COLLATERAL,
        "0xbf5ba08b3a0c4dd741f00759282e38e9bfa9ad59aa623ed13d26a8786c1e5afc",
        0,
        84121562275746951169805992721206824933074826856805500029198362509460400440947,
    ),
    (
        ctf.NEG_RISK_WRAPPED_COLLATERAL,
        "0xbf5ba08b3a0c4dd741f00759282e38e9bfa9ad59aa623ed13d26a8786c1e5afc",
        1,
        6492254133524731704185750998715576231739345323060925006131340263114065023619,
    ),
    (
        "0x7D1DC38E60930664F8cBF495dA6556ca091d2F92",
        "0xda558eddf6eb57760bd5371fb313167f871d823a16e9d66fccb292baf2a117c0",
        0,
        108051088633899060239124498527429950692254744883563327407154880807410490438693,
    ),
    (
        "0x7D1DC38E60930664F8cBF495dA6556ca091d2F92",
        "0xda558eddf6eb57760bd5371fb313167f871d823a16e9d66fccb292baf2a117c0",
        1,
        45163082656174410071592939534766820181648934703824597457997612898109272294349,
    ),
]

# tests/getNegRiskPositionId.test.ts: (negRiskMarketId, questionIndex, outcome index, expected
# positionId). The id chain: question id (NegRiskIdLib) -> condition id with the NegRiskAdapter
# as oracle and 2 outcomes -> position id on the WrappedCollateral.
NEG_RISK_POSITION_IDS = [
    (
        "0xcc4727a6394620b9c8ae82db3db50a34d5ca9828675547bcc4cddf5e86b63000",
        7,
        0,
        96833685517457790753237027711749956491556223430098771101130535462280443103710,
    ),
    (
        "0xcc4727a6394620b9c8ae82db3db50a34d5ca9828675547bcc4cddf5e86b63000",
        7,
        1,
        112683192116716745370273337699109698649408967993699289993927321945615517688893,
    ),
    (
        "0x904aa321a48f737e2223e7b3007bf51d68b6a0d66bdda0c1e4bc581f55d62800",
        4,
        0,
        11031149734538275426690039809123992018327740438980973428241361937177748285493,
    ),
    (
        "0x904aa321a48f737e2223e7b3007bf51d68b6a0d66bdda0c1e4bc581f55d62800",
        4,
        1,
        92849115097658926029726616555072992123532598747617388960074918380114146610948,
    ),
    (
        "0x904aa321a48f737e2223e7b3007bf51d68b6a0d66bdda0c1e4bc581f55d62800",
        3,
        0,
        92934986068759649975171712359405804888500621431140776758674716227798619042594,
    ),
    (
        "0x904aa321a48f737e2223e7b3007bf51d68b6a0d66bdda0c1e4bc581f55d62800",
        3,
        1,
        83272680118121060051327450493118657102857345150945269348505485036103238138715,
    ),
    (
        "0x5e596465dca57c10c8b175f901974e2de2877498410b0210d0a21b57e14da000",
        4,
        0,
        30637845681714148498359907433169105263223689440526909041094893305583115580796,
    ),
    (
        "0x5e596465dca57c10c8b175f901974e2de2877498410b0210d0a21b57e14da000",
        4,
        1,
        111796127100720291855951404495290728144208289103084969375425640210971192620108,
    ),
]

# The real V2 receipt 0xc1375cac…e609 (shared/data/chain/receipt-0xc1375cac.json): logs 9-11
# split condition 0x1823…47d9 from USDC.e into these two tokens; log 12/13 deliver and fill the
# first (outcome 0), logs 14/15 the second (outcome 1).
RECEIPT_CONDITION = "0x182390641d3b1b47cc64274b9da290efd04221c586651ba190880713da6347d9"
RECEIPT_TOKEN_IDS = (
    102936224134271070189104847090829839924697394514566827387181305960175107677216,
    45763018441764333771124945243746174684578244015331389396782339063349542289693,
)


@pytest.mark.parametrize(
    ("condition", "outcome", "expected"),
    COLLECTION_IDS,
    ids=[f"{c[:10]}-outcome{i}" for c, i, _ in COLLECTION_IDS],
)
def test_collection_id_matches_the_subgraph_vectors(condition, outcome, expected):
    assert ctf.collection_id(ZERO, condition, 1 << outcome) == expected


@pytest.mark.parametrize(
    ("collateral", "condition", "outcome", "expected"),
    POSITION_IDS,
    ids=[f"{col[:8]}-{c[:10]}-outcome{i}" for col, c, i, _ in POSITION_IDS],
)
def test_position_id_matches_the_subgraph_vectors(collateral, condition, outcome, expected):
    assert ctf.position_id(collateral, ctf.collection_id(ZERO, condition, 1 << outcome)) == expected
    assert ctf.token_ids(condition, collateral)[outcome] == expected


@pytest.mark.parametrize(
    ("market", "question", "outcome", "expected"),
    NEG_RISK_POSITION_IDS,
    ids=[f"{m[:10]}-q{q}-outcome{i}" for m, q, i, _ in NEG_RISK_POSITION_IDS],
)
def test_neg_risk_position_id_matches_the_subgraph_vectors(market, question, outcome, expected):
    question_id = ctf.neg_risk_question_id(market, question)
    condition = ctf.condition_id(ctf.NEG_RISK_ADAPTER, question_id, 2)
    collateral = ctf.ctf_collateral(ctf.NEG_RISK_ADAPTER)
    assert ctf.token_ids(condition, collateral)[outcome] == expected


def test_the_receipt_condition_yields_the_token_ids_it_traded():
    assert ctf.token_ids(RECEIPT_CONDITION, ctf.USDC_E) == RECEIPT_TOKEN_IDS


def test_neg_risk_question_id_puts_the_index_in_the_last_byte():
    # tests/getNegRiskQuestionId.ts: market ...6b63000, question 7 -> ...6b63007.
    market = "0xcc4727a6394620b9c8ae82db3db50a34d5ca9828675547bcc4cddf5e86b63000"
    assert ctf.neg_risk_question_id(market, 7) == market[:-2] + "07"


def test_collateral_follows_the_oracle():
    assert ctf.ctf_collateral(ctf.NEG_RISK_ADAPTER.upper().replace("0X", "0x")) == (
        "0x3a3bd7bb9528e159577f7c2e685cc81a765002e2"
    )
    any_other_oracle = "0x" + "6a" * 20
    assert ctf.ctf_collateral(any_other_oracle) == "0x2791bca1f2de4661ed88a30c99a7a9449aa84174"
    other_adapter = "0x" + "11" * 20
    assert (
        ctf.ctf_collateral(
            other_adapter, neg_risk_adapter=other_adapter, neg_risk_collateral="0xAB"
        )
        == "0xab"
    )


def test_token_ids_cover_every_outcome_slot():
    ids = ctf.token_ids(RECEIPT_CONDITION, ctf.USDC_E, outcomes=3)
    assert ids[:2] == RECEIPT_TOKEN_IDS
    assert len(set(ids)) == 3


# Nested collections: no public vector exists (Polymarket never nests), so these check the
# group law the contract relies on: a collection id is a curve point, and nesting adds points.
A = "0xdb4ab1dbbedd6aeec17aa6e3f66262cff0e3b04742dd3acdf99652575e5422f8"
C = "0xda558eddf6eb57760bd5371fb313167f871d823a16e9d66fccb292baf2a117c0"


def test_nesting_order_does_not_change_a_collection():
    a, c = ctf.collection_id(ZERO, A, 1), ctf.collection_id(ZERO, C, 2)
    ac = ctf.collection_id(a, C, 2)
    assert ac == ctf.collection_id(c, A, 1)
    assert ac not in (a, c, ZERO)


def test_nesting_a_collection_in_itself_doubles_its_point():
    # (a + a) + c by the doubling branch equals (a + c) + a by plain addition.
    a = ctf.collection_id(ZERO, A, 1)
    doubled_then_c = ctf.collection_id(ctf.collection_id(a, A, 1), C, 1)
    c_then_a = ctf.collection_id(ctf.collection_id(a, C, 1), A, 1)
    assert doubled_then_c == c_then_a


def test_a_collection_plus_its_negation_is_the_empty_collection():
    a = ctf.collection_id(ZERO, A, 1)
    negated = "0x" + (int(a, 16) ^ (1 << 254)).to_bytes(32, "big").hex()  # same x, other y
    assert ctf.collection_id(negated, A, 1) == ZERO


@pytest.mark.parametrize(
    "parent",
    [
        "0x" + "00" * 31 + "04",  # 4³ + 3 has no square root mod P: the contract's require
        "0x" + hex(ctf.P)[2:].rjust(64, "0"),  # x = P is outside the field: ecAdd fails
    ],
    ids=["off-the-curve", "outside-the-field"],
)
def test_an_invalid_parent_is_refused(parent):
    with pytest.raises(ValueError, match="invalid parent collection id"):
        ctf.collection_id(parent, A, 1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ctf.condition_id(ctf.NEG_RISK_ADAPTER, "0x1234", 2),
        lambda: ctf.condition_id("0xd91e80cf", "0x" + "00" * 32, 2),
        lambda: ctf.condition_id(ctf.NEG_RISK_ADAPTER, "0x" + "00" * 32, 1),
        lambda: ctf.condition_id(ctf.NEG_RISK_ADAPTER, "0x" + "00" * 32, 257),
        lambda: ctf.collection_id(ZERO, "nothex", 1),
        lambda: ctf.collection_id(ZERO, "0x" + "zz" * 32, 1),
        lambda: ctf.collection_id(ZERO, A, -1),
        lambda: ctf.position_id(A, ZERO),
        lambda: ctf.token_ids(A, ctf.USDC_E, outcomes=1),
        lambda: ctf.neg_risk_question_id(A, 256),
    ],
    ids=[
        "short-question",
        "short-oracle",
        "one-slot",
        "257-slots",
        "no-0x",
        "bad-hex",
        "negative-index-set",
        "collateral-not-an-address",
        "one-outcome",
        "question-index-256",
    ],
)
def test_bad_ids_are_refused_with_a_message(call):
    with pytest.raises(ValueError, match=r"expected|must be"):
        call()
