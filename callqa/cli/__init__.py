"""The ``callqa`` command line (nothing in the library imports it)."""

import os

# The transcriber's OpenMP worker threads (CTranslate2) busy-wait between decodes by default;
# while they spin, the stages after transcription (checks, voice, diarization) ran 2-30 times
# slower on 2 cores (benchmarks/results/audio_truth.md, section 6). Passive waiting lets them
# sleep. It must be set before an OpenMP runtime loads; a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from callqa.cli.app import app, main

__all__ = ["app", "main"]
