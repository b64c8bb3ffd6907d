import sys

from ctfp.inference.cli import main

sys.exit(main())
