"""``python -m pipeline.demo_corpus OUT_DIR``: generate (or reuse) the demo corpus."""

import sys

from pipeline.demo_corpus import main

sys.exit(main())
