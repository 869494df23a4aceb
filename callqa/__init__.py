"""callqa: offline voice-call quality analysis.

Score a recorded customer-service call against the HEAT method (Hear, Empathise/apologise,
lead to a resolution, Take action) with Whisper transcription, conversation dynamics and
voice measures. The CLI (``callqa``) is a thin layer over this library::

    import callqa

    config = callqa.load_config()  # the defaults; load_config(Path("callqa.toml")) for a file
    model = callqa.load_transcriber(config.transcription)  # load once, score many calls
    card = callqa.score_call("call.wav", transcriber=model, config=config)
    print(card.score, [c.id for c in card.checks if c.verdict == "fail"])
    callqa.write_json(card, "call.json")

The names below load on first use, so ``import callqa`` stays instant. docs/architecture.md
draws the stages and how they depend on each other.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The library logs (logger "callqa.<module>": each pipeline stage at INFO, details at DEBUG)
# and leaves output to the application; the CLI routes it to stderr (--quiet, --debug).
logging.getLogger(__name__).addHandler(logging.NullHandler())

# public name -> module that defines it
_EXPORTS = {
    "CallQAError": "callqa.errors",
    "Config": "callqa.config",
    "load_config": "callqa.config",
    "Transcriber": "callqa.transcription",
    "load_transcriber": "callqa.transcription",
    "read_transcript": "callqa.transcription",
    "Rubric": "callqa.scoring.rubric",
    "load_rubric": "callqa.scoring.rubric",
    "Scorecard": "callqa.scoring.scorecard",
    "from_dict": "callqa.scoring.scorecard",
    "read_json": "callqa.scoring.scorecard",
    "to_dict": "callqa.scoring.scorecard",
    "write_json": "callqa.scoring.scorecard",
    "ScoredCall": "callqa.pipeline",
    "score_call": "callqa.pipeline",
    "score_call_with_audio": "callqa.pipeline",
    "score_transcript": "callqa.pipeline",
}

__all__ = [
    "CallQAError",
    "Config",
    "Rubric",
    "Scorecard",
    "ScoredCall",
    "Transcriber",
    "__version__",
    "from_dict",
    "load_config",
    "load_rubric",
    "load_transcriber",
    "read_json",
    "read_transcript",
    "score_call",
    "score_call_with_audio",
    "score_transcript",
    "to_dict",
    "write_json",
]

if TYPE_CHECKING:  # what the names are, for type checkers and editors
    from callqa.config import Config, load_config
    from callqa.errors import CallQAError
    from callqa.pipeline import ScoredCall, score_call, score_call_with_audio, score_transcript
    from callqa.scoring.rubric import Rubric, load_rubric
    from callqa.scoring.scorecard import Scorecard, from_dict, read_json, to_dict, write_json
    from callqa.transcription import Transcriber, load_transcriber, read_transcript


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'callqa' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
