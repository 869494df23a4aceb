"""Exceptions raised by callqa.

Every error a user can cause derives from :class:`CallQAError`; the CLI prints its message
as one line (``Error: ...``) and exits with code 1. Messages say what is wrong *and* what to do.

::

    CallQAError
    ├── AudioError          the file cannot be used as a call recording
    ├── ModelError          the Whisper weights are missing, corrupt or cannot be loaded
    ├── ConfigError         a config or rubric file is invalid
    ├── TranscriptError     a transcript file (JSON / WebVTT) is invalid
    ├── ScorecardError      a scorecard file (JSON) is not a valid scorecard
    └── StoreError          the results store cannot be opened or written
"""

from __future__ import annotations


class CallQAError(Exception):
    """Root of every error callqa raises on purpose."""


class AudioError(CallQAError):
    """The input file cannot be scored as a call recording."""


class ModelError(CallQAError):
    """A model cannot be found, verified or loaded."""


class ConfigError(CallQAError):
    """A configuration or rubric file is invalid."""


class TranscriptError(CallQAError):
    """A transcript file cannot be read."""


class ScorecardError(CallQAError):
    """A scorecard file cannot be read as a scorecard."""


class StoreError(CallQAError):
    """The results store cannot be opened or written."""
