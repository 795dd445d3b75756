"""The polyboard code location: everything under `defs/`, discovered by Dagster."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        # Steps run one after another in the run's process: the embedded warehouse takes a
        # single writer, and every step already parallelizes its own I/O.
        dg.Definitions(executor=dg.in_process_executor),
    )
