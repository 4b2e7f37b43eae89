"""python -m samples FOLDER: write the sample evidence pack into FOLDER."""

import sys
from pathlib import Path

from .pack import write_sample_pack

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "examples/pack")
written = write_sample_pack(folder)
print(f"Wrote {len(written)} documents to {folder}")
