"""Speech to text: Whisper behind the :class:`Transcriber` protocol, and transcript files.

::

    TranscriptionConfig -> load.load_transcriber -> Transcriber (faster | openai | fake)
    CallAudio + SpeechActivity + Transcriber -> call.transcribe_call -> Transcript
    transcript file (JSON / WebVTT) -> files.read_transcript -> Transcript

The adapters (:mod:`~callqa.transcription.faster`, :mod:`~callqa.transcription.openai`) are the
only code that reads Whisper's own result objects; :mod:`~callqa.transcription.guards` holds
what they share; :mod:`~callqa.transcription.weights` joins and verifies the shipped model.
Importing this package imports no model library.
"""

from callqa.transcription.call import transcribe_call
from callqa.transcription.files import read_transcript
from callqa.transcription.load import load_transcriber
from callqa.transcription.model import Transcriber

__all__ = ["Transcriber", "load_transcriber", "read_transcript", "transcribe_call"]
