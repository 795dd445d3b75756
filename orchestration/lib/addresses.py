"""Addresses that are contracts, not traders."""

# EXCLUDED_ADDRESSES default: the V1 exchanges, the three V2 exchange addresses, the
# NegRiskAdapter and both generations of the V2 collateral adapters
# (../shared/reference/polymarket-v2.md section 1).
DEFAULT_EXCLUDED_ADDRESSES = (
    # V1: CTFExchange, NegRiskCtfExchange, NegRiskAdapter, NegRiskOperator
    "0x4bfb41d5b3570defd03c39a9a4d8de6bd8b8982e",
    "0xc5d563a36ae78145c45a50134d48a1215220f80a",
    "0xd91e80cf2e7be2e162c6513ced06f1dd0da35296",
    "0x78769d50be1763ed1ca0d5e878d93f05aabff29e",
    # V2: CTFExchangeV2, NegRiskCtfExchangeV2, the short-lived neg-risk "B" address
    "0xe111180000d2663c0091e4f400237545b87b996b",
    "0xe2222d279d744050d28e00520010520000310f59",
    "0xe2222d002000ba0053cef3375333610f64600036",
    # V2 collateral adapters: CtfCollateralAdapter and NegRiskCtfCollateralAdapter, both generations
    "0xada100874d00e3331d00f2007a9c336a65009718",
    "0xada100db00ca00073811820692005400218fce1f",
    "0xada200001000ef00d07553cee7006808f895c6f1",
    "0xada2005600dec949baf300f4c6120000bdb6eaab",
)


# The collateral adapters users call for splits, merges, redemptions and (neg-risk)
# conversions in the V2 era; their operations are read by these addresses
# (CHAIN_COLLATERAL_ADAPTERS overrides them).
CTF_COLLATERAL_ADAPTERS = (
    "0xada100874d00e3331d00f2007a9c336a65009718",
    "0xada100db00ca00073811820692005400218fce1f",
)
NEG_RISK_CTF_COLLATERAL_ADAPTERS = (
    "0xada200001000ef00d07553cee7006808f895c6f1",
    "0xada2005600dec949baf300f4c6120000bdb6eaab",
)
DEFAULT_COLLATERAL_ADAPTERS = CTF_COLLATERAL_ADAPTERS + NEG_RISK_CTF_COLLATERAL_ADAPTERS


def parse_addresses(value: str | None) -> tuple[str, ...]:
    """A comma-separated list, lower-cased; empty entries dropped."""
    if not value:
        return ()
    return tuple(sorted({a.strip().lower() for a in value.split(",") if a.strip()}))
