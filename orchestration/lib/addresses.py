"""Addresses that are contracts, not traders."""

# CTF exchange and neg-risk exchange/adapter contracts, V1 and V2 (EXCLUDED_ADDRESSES default).
DEFAULT_EXCLUDED_ADDRESSES = (
    "0x4bfb41d5b3570defd03c39a9a4d8de6bd8b8982e",
    "0xc5d563a36ae78145c45a50134d48a1215220f80a",
    "0xd91e80cf2e7be2e162c6513ced06f1dd0da35296",
    "0x78769d50be1763ed1ca0d5e878d93f05aabff29e",
)


def parse_addresses(value: str | None) -> tuple[str, ...]:
    """A comma-separated list, lower-cased; empty entries dropped."""
    if not value:
        return ()
    return tuple(sorted({a.strip().lower() for a in value.split(",") if a.strip()}))
