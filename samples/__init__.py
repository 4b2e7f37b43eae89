"""The fictional sample evidence pack and the file writers that make it (demo, tests and benchmarks).

    python -m samples examples/pack     # write the pack
"""

from .pack import write_sample_pack
from .writers import (
    write_docx,
    write_eml,
    write_msg,
    write_ods,
    write_odt,
    write_pdf,
    write_png,
    write_pptx,
    write_scan_pdf,
    write_xls,
    write_xlsx,
)

__all__ = ["write_docx", "write_eml", "write_msg", "write_odt", "write_ods", "write_pdf", "write_png", "write_pptx",
           "write_sample_pack", "write_scan_pdf", "write_xls", "write_xlsx"]
