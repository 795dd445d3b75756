"""Shared state of the running API and the dependencies handlers declare with `Annotated`."""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator

from api.cache import ResponseCache, make_cache_backend
from api.config import Settings
from api.dagster import DagsterClient
from api.metrics import SNAPSHOT_SWITCHES
from api.models import WALLET_EXAMPLE, WALLET_HELP, WALLET_PATTERN
from api.rankings import MartRankings
from api.warehouse import Warehouse, make_warehouse

log = logging.getLogger("polyboard.api")


@dataclass
class AppState:
    settings: Settings
    warehouse: Warehouse
    cache: ResponseCache
    dagster: DagsterClient
    rankings: MartRankings
    _poller: asyncio.Task | None = field(default=None, repr=False)

    @classmethod
    async def start(cls, settings: Settings) -> AppState:
        warehouse = make_warehouse(settings)
        await warehouse.start()
        backend = make_cache_backend(settings)
        state = cls(
            settings=settings,
            warehouse=warehouse,
            cache=ResponseCache(
                backend,
                settings.cache_key_prefix,
                lambda: warehouse.version,
                local_ttl=settings.local_cache_ttl if settings.redis_url else 0.0,
                local_max_bytes=settings.memory_cache_max_bytes,
            ),
            dagster=DagsterClient(
                settings.dagster_graphql_url,
                settings.dagster_location_name,
                settings.dagster_repository_name,
                settings.dagster_timeout_seconds,
            ),
            rankings=MartRankings(settings.min_trader_trades, settings.min_trader_volume),
        )
        await state.refresh()
        state._poller = asyncio.create_task(state._poll(), name="publication-poller")
        return state

    async def refresh(self) -> None:
        try:
            if await self.warehouse.refresh():
                SNAPSHOT_SWITCHES.inc()
                log.info("serving marts publication %s", self.warehouse.version)
            if self.rankings.version != self.warehouse.version:
                await self.rankings.check(self.warehouse)
        except Exception as exc:  # the next poll retries; readiness reports the state
            log.debug("publication refresh failed: %s", exc)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.settings.snapshot_poll_seconds)
            await self.refresh()

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        await self.cache.backend.close()
        await self.dagster.close()
        await self.warehouse.stop()


async def get_state(request: Request) -> AppState:
    # async: a plain function dependency would cost a thread-pool hop on every request.
    return request.app.state.polyboard


StateDep = Annotated[AppState, Depends(get_state)]


def _lower_wallet(value: str) -> str:
    return value.lower()


WalletPath = Annotated[
    str,
    Path(
        description=f"The trader's wallet: {WALLET_HELP}.",
        pattern=WALLET_PATTERN,
        examples=[WALLET_EXAMPLE],
    ),
    AfterValidator(_lower_wallet),
]

_bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <ADMIN_API_TOKEN>`; admin is disabled when unset.",
)


async def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 on a missing or wrong token, 403 when the API has no token configured."""
    expected = request.app.state.polyboard.settings.admin_api_token
    if expected is None or not expected.get_secret_value():
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "admin endpoints are disabled: ADMIN_API_TOKEN is not set"
        )
    given = credentials.credentials if credentials is not None else ""
    # compare_digest takes time independent of where the strings differ.
    if not given or not hmac.compare_digest(
        given.encode("utf-8"), expected.get_secret_value().encode("utf-8")
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or invalid bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


AdminDep = Depends(require_admin)

WALLET_RE = re.compile(WALLET_PATTERN)
