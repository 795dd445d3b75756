"""One rule parses the query of every route (api/README.md, "Query parameters").

A parameter left out takes its default; an empty value or a parameter given twice is a 422
naming it; unknown parameters are ignored; dates are YYYY-MM-DD and nothing else.
"""

from __future__ import annotations

import pytest

WALLET = "{wallet}"  # replaced by a trader of the marts

# Every route with a query, and for each of its parameters a value it accepts.
ROUTES: dict[str, dict[str, str]] = {
    "/api/v1/traders/leaderboard": {
        "timeframe": "30d",
        "sort_by": "volume",
        "order": "asc",
        "min_trades": "1",
        "min_volume": "0.5",
        "category": "politics",
        "page": "1",
        "limit": "5",
        "decimals": "string",
    },
    "/api/v1/traders/search": {"q": "0x5", "limit": "3", "decimals": "string"},
    f"/api/v1/traders/{WALLET}": {"category": "politics", "decimals": "string"},
    f"/api/v1/traders/{WALLET}/statistics": {
        "from": "2020-01-01",
        "to": "2100-12-31",
        "decimals": "string",
    },
    f"/api/v1/traders/{WALLET}/positions": {
        "status": "all",
        "outcome": "win",
        "sort": "total_pnl",
        "order": "asc",
        "page": "1",
        "limit": "5",
        "decimals": "string",
    },
}
# What a route needs besides the parameter under test.
REQUIRED = {"/api/v1/traders/search": {"q": "0x5"}}

CASES = [(route, name, value) for route, values in ROUTES.items() for name, value in values.items()]
IDS = [f"{route.rsplit('/', 1)[-1].strip('{}')}-{name}" for route, name, _ in CASES]


@pytest.fixture(scope="module")
def wallet(served) -> str:
    return served.query(
        "select wallet_address from marts.traders_v2 order by trades desc, wallet_address limit 1"
    )[0]["wallet_address"]


def get(served, wallet: str, route: str, params: list[tuple[str, str]]):
    return served.client.get(route.replace(WALLET, wallet), params=params)


def the_error(response, name: str) -> dict:
    assert response.status_code == 422, response.text
    errors = [e for e in response.json()["detail"] if e["loc"] == ["query", name]]
    assert len(errors) == 1, response.json()
    return errors[0]


def base(route: str, name: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in REQUIRED.get(route, {}).items() if k != name]


@pytest.mark.parametrize("route,name,value", CASES, ids=IDS)
def test_an_accepted_value_is_a_200(served, wallet, route, name, value):
    # The control of the cases below: the value itself is fine.
    response = get(served, wallet, route, [*base(route, name), (name, value)])
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("route,name,value", CASES, ids=IDS)
def test_an_empty_value_is_a_422_naming_the_parameter(served, wallet, route, name, value):
    error = the_error(get(served, wallet, route, [*base(route, name), (name, "")]), name)
    assert error["msg"] == f"`{name}` is empty: give a value, or leave it out for its default"


@pytest.mark.parametrize("route,name,value", CASES, ids=IDS)
def test_a_parameter_given_twice_is_a_422(served, wallet, route, name, value):
    params = [*base(route, name), (name, value), (name, value)]
    error = the_error(get(served, wallet, route, params), name)
    assert error["msg"] == f"`{name}` is given more than once: give it once"


@pytest.mark.parametrize("route", ROUTES)
def test_unknown_parameters_are_ignored(served, wallet, route):
    params = list(REQUIRED.get(route, {}).items())
    plain = get(served, wallet, route, params)
    assert plain.status_code == 200
    for extra in ([("_", "1712345678")], [("unknown", "")], [("unknown", "a"), ("unknown", "b")]):
        response = get(served, wallet, route, params + extra)
        assert response.status_code == 200 and response.json() == plain.json()


def test_every_bad_parameter_is_named_in_one_answer(served):
    response = served.client.get(
        "/api/v1/traders/leaderboard",
        params=[("limit", ""), ("timeframe", "2d"), ("page", "1"), ("page", "2")],
    )
    assert response.status_code == 422
    named = sorted(e["loc"][1] for e in response.json()["detail"])
    assert named == ["limit", "page", "timeframe"]


NOT_A_DAY = [
    "2026-04-20T00:00:00-05:00",  # a midnight with an offset: the offset would be dropped
    "2026-04-20T00:00:00Z",
    "2026-04-20T00:00:00",
    "2026-04-20 00:00",
    "1776643200",  # a Unix time
    "20260420",
    "2026-4-20",
    "2026-04-31",
]


@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("value", NOT_A_DAY)
def test_dates_are_days_written_yyyy_mm_dd(served, wallet, name, value):
    route = f"/api/v1/traders/{wallet}/statistics"
    error = the_error(served.client.get(route, params={name: value}), name)
    assert "YYYY-MM-DD" in error["msg"] or "valid date" in error["msg"]
    assert served.client.get(route, params={name: "2026-04-20"}).status_code == 200


def test_the_document_lists_every_parameter_of_the_rule(served):
    schema = served.get("/openapi.json").json()
    for route, values in ROUTES.items():
        path = route.replace(WALLET, "{wallet_address}")
        documented = {
            p["name"]: p for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"
        }
        assert set(documented) == set(values), path
        for name, parameter in documented.items():
            assert parameter["description"], (path, name)
            assert parameter["required"] == (name in REQUIRED.get(route, {})), (path, name)
            assert "null" not in str(parameter["schema"]), (path, name)
