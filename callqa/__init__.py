"""callqa: offline voice-call quality analysis.

Score a recorded customer-service call against the HEAT method (Hear, Empathise/apologise,
lead to a resolution, Take action) with Whisper transcription, conversation dynamics and
voice measures. The CLI (``callqa``) is a thin layer over this library::

    from callqa.config import load_config
    from callqa.pipeline import score_call
    from callqa.scorecard import write_json
    from callqa.transcribe import load_transcriber

    config = load_config()  # the defaults; load_config(Path("callqa.toml")) for a file
    transcriber = load_transcriber(config.transcription)  # load once, score many calls
    card = score_call("call.wav", transcriber=transcriber, config=config)
    write_json(card, Path("call.json"))
"""

__version__ = "0.1.0"
