"""The hand-written ONNX graph of a stacked LSTM, given a PyTorch LSTM's weights through
``onnx_layers``, computes what PyTorch's LSTM computes."""

from __future__ import annotations

import numpy as np
import pytest

from callqa.audio.onnx_lstm import _varint, lstm_session
from callqa.audio.speaker import onnx_layers


def test_varint_is_protobufs() -> None:
    assert _varint(0) == b"\x00"
    assert _varint(1) == b"\x01"
    assert _varint(300) == b"\xac\x02"  # the example of the protobuf encoding guide
    assert _varint(2**35) == b"\x80\x80\x80\x80\x80\x01"


@pytest.mark.parametrize("frames", [1, 7])
def test_stacked_lstm_matches_torch(frames: int) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(5, 3, 2)  # 2 layers, hidden 3, time-major like the graph
    state = {f"lstm.{k}": v.detach().numpy() for k, v in lstm.state_dict().items()}
    layers = onnx_layers(state)
    assert len(layers) == 2
    x = np.random.default_rng(1).standard_normal((frames, 4, 5)).astype(np.float32)
    with torch.inference_mode():
        _, (hidden, _) = lstm(torch.from_numpy(x))
    got = lstm_session(layers).run(["h"], {"x": x})[0]
    assert got.shape == (1, 4, 3)
    np.testing.assert_allclose(got[0], hidden[-1].numpy(), atol=1e-6)
