"""callqa: offline voice-call quality analysis.

Score a recorded customer-service call against the HEAT method (Hear, Empathise/apologise,
lead to a resolution, Take action) with Whisper transcription, conversation dynamics and
voice measures. The CLI (``callqa``) is a thin layer over this library::

    from callqa.pipeline import ScoreOptions, score_call
    from callqa.transcribe import load_transcriber

    options = ScoreOptions()
    card = score_call("call.wav", transcriber=load_transcriber(options.transcription), options=options)
"""

__version__ = "0.1.0"
