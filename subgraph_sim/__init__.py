"""A local Polymarket subgraph: a graph-node look-alike serving generated or recorded data.

Entry points: `generator.generate()` builds a `Dataset`, `server` serves it over HTTP,
`process.start_sim()` runs that server as a subprocess, `python -m subgraph_sim` is the CLI.
"""
