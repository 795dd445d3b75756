"""The dbt project as Dagster sees it, with its manifest ready before the code location loads."""

import os

from dagster_dbt import DbtProject

from orchestration.lib.dbt_env import DBT_PROJECT_DIR

dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=os.environ.get("POLYBOARD_DBT_TARGET") or None,
)


def _manifest_is_stale() -> bool:
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = ("models", "macros", "tests", "seeds", "dbt_project.yml", "profiles.yml")
    return any(
        path.stat().st_mtime > built
        for name in sources
        for path in [DBT_PROJECT_DIR / name, *(DBT_PROJECT_DIR / name).rglob("*")]
        if path.is_file()
    )


# `dagster dev` parses the project itself; everywhere else (tests, `make pipeline`, a deployed
# code server) the manifest is parsed here when it is missing or older than the project.
dbt_project.prepare_if_dev()
if _manifest_is_stale():
    dbt_project.preparer.prepare(dbt_project)
