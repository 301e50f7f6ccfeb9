import sys
from pathlib import Path

from dr_ops.cli import main
from dr_ops.tools import Tools

# The project root: where cdk.json lives, whatever the caller's directory.
ROOT = Path(__file__).resolve().parents[1]

sys.exit(main(sys.argv[1:], Tools.real(ROOT)))
