"""Every dbt model as a Dagster asset; dbt tests become asset checks."""

import json
import os
import shutil
from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtCliRuntimeError,
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration.defs.dbt.project import dbt_project
from orchestration.defs.resources import PipelineSettings, WarehouseResource
from orchestration.lib.dbt_env import dbt_environment, keep_parsed_state


class PolyboardTranslator(DagsterDbtTranslator):
    """Groups by layer; models follow new upstream data on their own (eager automation).

    Sources keep dagster-dbt's default keys, `["polymarket", <table>]`, which are exactly the
    keys of the raw assets, so lineage runs from extraction to the marts with no mapping.
    """

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "model":
            fqn = dbt_resource_props.get("fqn", [])
            return fqn[1] if len(fqn) > 2 else "marts"
        return super().get_group_name(dbt_resource_props)

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        if dbt_resource_props["resource_type"] == "model":
            return dg.AutomationCondition.eager()
        return None


TRANSLATOR = PolyboardTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class DbtBuildConfig(dg.Config):
    """Run parameters of a dbt build, set in the launchpad of the UI."""

    full_refresh: bool = False
    """Rebuild the incremental models from nothing (dbt --full-refresh): once after an upgrade
    that changes their columns (dbt stops on it: on_schema_change='fail'), or after
    excluded_addresses changed."""


def dbt_vars(settings: PipelineSettings) -> dict[str, Any]:
    return {
        "excluded_addresses": ",".join(settings.excluded),
        "min_trader_trades": settings.min_trader_trades,
        "min_trader_volume": settings.min_trader_volume,
    }


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TRANSLATOR,
    pool="warehouse",
    # A writer that slipped past the run queue (a manual launch, say) holds the DuckDB file
    # for a while; a later attempt finds it free. A build whose data tests fail is not retried.
    retry_policy=dg.RetryPolicy(max_retries=2, delay=20, backoff=dg.Backoff.EXPONENTIAL),
)
def polyboard_dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    settings: PipelineSettings,
    config: DbtBuildConfig,
):
    """Staging views, the position ledger and the marts, built and tested by dbt."""
    # dbt reads its connection from the environment (profiles.yml), derived from the same
    # warehouse settings the extraction uses, so both always point at one database.
    os.environ.update(dbt_environment(warehouse.database_url, warehouse.duckdb_path))
    # Unit tests check the SQL, not the data: CI runs them (tests/dbt_project), and a
    # production build skips them, as dbt recommends, to spend its time on the data tests.
    args = [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--vars",
        json.dumps(dbt_vars(settings)),
        *(["--full-refresh"] if config.full_refresh else []),
    ]
    invocation = dbt.cli(args, context=context)
    try:
        if warehouse.database_url:
            yield from invocation.stream().fetch_row_counts()
        else:
            yield from _with_duckdb_row_counts(invocation.stream(), warehouse)
    except DagsterDbtCliRuntimeError as exc:
        failed = _failed_data_tests(invocation)
        if failed:
            # The same data fails the same tests: a retry would rebuild everything for nothing.
            raise dg.Failure(
                description=f"dbt data tests failed, the marts stay unpublished: "
                f"{', '.join(failed)}",
                allow_retries=False,
            ) from exc
        raise
    finally:
        # Each invocation writes its own target folder; the manifest of the project stays.
        keep_parsed_state(invocation.target_path)
        shutil.rmtree(invocation.target_path, ignore_errors=True)


def _failed_data_tests(invocation) -> list[str]:
    """The data tests of this dbt invocation that found rows (its run_results.json)."""
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except FileNotFoundError:  # dbt stopped before running anything
        return []
    return sorted(
        r["unique_id"].split(".")[2]
        for r in results
        if r["unique_id"].startswith("test.") and r["status"] == "fail"
    )


def _with_duckdb_row_counts(events: Iterable[Any], warehouse: WarehouseResource):
    """Row counts for DuckDB, read once dbt has let go of the file.

    dagster-dbt's own row counts open the warehouse through the adapter inside this process
    and keep it open, and DuckDB refuses a second in-process connection with other settings.
    dbt holds the file while it builds, so the events wait for the build to end.
    """
    events = list(events)
    with warehouse.connect() as wh:
        for event in events:
            if isinstance(event, dg.Output) and len(event.output_name.split("__")) == 2:
                schema, table = event.output_name.split("__")
                row = wh.fetchone(
                    "select count(*) from information_schema.tables "
                    "where table_schema = ? and table_name = ? and table_type = 'BASE TABLE'",
                    [schema, table],
                )
                if row and row[0]:
                    rows = wh.fetchone(f'select count(*) from "{schema}"."{table}"')[0]
                    event = event.with_metadata({**event.metadata, "dagster/row_count": rows})
            yield event
