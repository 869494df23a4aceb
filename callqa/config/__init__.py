"""Configuration: defaults in code, a TOML file over them, CLI flags over the file.

Every setting lives here, one frozen dataclass per stage (:class:`TranscriptionConfig`,
:class:`DynamicsConfig`, :class:`VoiceConfig`, :class:`RedactionConfig`) plus ``[call]`` and
``[rubric]``; the stages import their settings from this module and nothing else from above.
A config file has one table per stage::

    [call]
    agent_channel = "left"      # left | right | auto
    language = "nb"             # omit for auto-detection

    [transcription]
    backend = "faster-whisper"

Unknown tables or keys are an error, and so is a value of the wrong type.
docs/configuration.md lists every key.
"""

from callqa.config.files import (
    CONFIG_ENV,
    CONFIG_FILE,
    config_candidates,
    config_hash,
    config_to_dict,
    field_docs,
    find_config,
    load_config,
    replace_config,
    to_toml,
)
from callqa.config.settings import (
    ADDRESS,
    AGENT_CHANNELS,
    AUDIO_MODES,
    BACKCHANNEL_WORDS,
    BACKENDS,
    CARD,
    CROSSTALK_GATES,
    CROSSTALK_MODES,
    CVV,
    DECODINGS,
    DEFAULT_TYPES,
    DEVICES,
    EMAIL,
    EXPIRY,
    IBAN,
    MAX_CONFIG_BYTES,
    NAME,
    NATIONAL_ID,
    PHONE,
    PII_TYPES,
    CallConfig,
    Config,
    DynamicsConfig,
    LimitsConfig,
    RedactionConfig,
    RubricConfig,
    TranscriptionConfig,
    VoiceConfig,
    check_config,
)

__all__ = [
    "ADDRESS",
    "AGENT_CHANNELS",
    "AUDIO_MODES",
    "BACKCHANNEL_WORDS",
    "BACKENDS",
    "CARD",
    "CONFIG_ENV",
    "CONFIG_FILE",
    "CROSSTALK_GATES",
    "CROSSTALK_MODES",
    "CVV",
    "DECODINGS",
    "DEFAULT_TYPES",
    "DEVICES",
    "EMAIL",
    "EXPIRY",
    "IBAN",
    "MAX_CONFIG_BYTES",
    "NAME",
    "NATIONAL_ID",
    "PHONE",
    "PII_TYPES",
    "CallConfig",
    "Config",
    "DynamicsConfig",
    "LimitsConfig",
    "RedactionConfig",
    "RubricConfig",
    "TranscriptionConfig",
    "VoiceConfig",
    "check_config",
    "config_candidates",
    "config_hash",
    "config_to_dict",
    "field_docs",
    "find_config",
    "load_config",
    "replace_config",
    "to_toml",
]
