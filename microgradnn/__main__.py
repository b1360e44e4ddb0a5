"""``python -m microgradnn ...`` runs the ``microgradnn`` command."""

import sys

from microgradnn.cli import main

sys.exit(main())
