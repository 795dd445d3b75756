import sys

from subgraph_sim.cli import main

sys.exit(main())
