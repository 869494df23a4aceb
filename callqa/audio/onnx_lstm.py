"""A stacked LSTM run by onnxruntime, its graph written here as ONNX protobuf bytes.

The mono diarizer's speaker encoder (resemblyzer's 3 x 256 LSTM) runs here. Earlier versions
stepped it through time with numpy; onnxruntime's LSTM kernel gives the same hidden states to
1e-5, and speech activity with diarization of the 245 s AWS call mixed to mono takes 1.7x less
time (benchmarks/results/dynamics.md, which runs the numpy loop as its baseline). The graph is
three ``LSTM`` nodes and two ``Squeeze`` nodes, so it is encoded directly from the few fields of
``onnx.proto`` it needs (field numbers below) rather than with the ``onnx`` package, whose import
alone takes 0.8 s and 17 MiB: more than the whole speech-activity stage of a short mono call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

IR_VERSION = 8  # ONNX IR version (onnxruntime >= 1.10 reads it)
OPSET = 17  # Squeeze takes its axes as an input from opset 13 on
_FLOAT, _INT64 = 1, 7  # TensorProto.DataType
_ATTR_INT = 2  # AttributeProto.AttributeType.INT


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    """A varint field (wire type 0)."""
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, payload: bytes | str) -> bytes:
    """A length-delimited field (wire type 2): a string, bytes or an embedded message."""
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _tensor(name: str, array: np.ndarray) -> bytes:
    """TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian)."""
    kind = {np.dtype(np.float32): _FLOAT, np.dtype(np.int64): _INT64}[array.dtype]
    dims = b"".join(_int(1, d) for d in array.shape)
    raw = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    return dims + _int(2, kind) + _bytes(8, name) + _bytes(9, raw)


def _value_info(name: str, dims: Sequence[int | str]) -> bytes:
    """ValueInfoProto of a float tensor: name = 1, type = 2 > tensor_type = 1 > elem_type = 1,
    shape = 2 > dim = 1 > dim_value = 1 or dim_param = 2."""
    shape = b"".join(_bytes(1, _bytes(2, d) if isinstance(d, str) else _int(1, d)) for d in dims)
    return _bytes(1, name) + _bytes(2, _bytes(1, _int(1, _FLOAT) + _bytes(2, shape)))


def _node(op: str, inputs: Sequence[str], outputs: Sequence[str], **ints: int) -> bytes:
    """NodeProto: input = 1, output = 2, op_type = 4, attribute = 5 (name = 1, i = 3,
    type = 20)."""
    fields = [_bytes(1, i) for i in inputs] + [_bytes(2, o) for o in outputs]
    fields.append(_bytes(4, op))
    fields += [_bytes(5, _bytes(1, k) + _int(3, v) + _int(20, _ATTR_INT)) for k, v in ints.items()]
    return b"".join(fields)


def lstm_graph(layers: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> bytes:
    """ONNX model (ModelProto bytes) of a stacked, unidirectional LSTM.

    Parameters
    ----------
    layers : sequence of (W, R, B)
        Per layer, in ONNX's layout and gate order (input, output, forget, cell): ``W`` the
        input weights, shape=(4 * hidden, d_in); ``R`` the recurrent weights,
        shape=(4 * hidden, hidden); ``B`` both biases, shape=(8 * hidden,) (input's, then
        recurrent's). float32.

    Returns
    -------
    bytes
        A model with input ``x``, shape=(frames, batch, d_in), and output ``h``, the last
        layer's hidden state after the last frame, shape=(1, batch, hidden). Initial states
        are zero.
    """
    hidden = layers[0][1].shape[1]
    nodes, weights, x = [], [_tensor("axis", np.array([1], dtype=np.int64))], "x"
    for k, (w, r, b) in enumerate(layers):
        weights += [_tensor(f"W{k}", w[None]), _tensor(f"R{k}", r[None]), _tensor(f"B{k}", b[None])]
        last = k == len(layers) - 1
        outputs = ["", "h"] if last else [f"y{k}"]  # Y: (frames, 1, batch, hidden); Y_h
        nodes.append(_node("LSTM", [x, f"W{k}", f"R{k}", f"B{k}"], outputs, hidden_size=hidden))
        if not last:
            nodes.append(_node("Squeeze", [f"y{k}", "axis"], [f"s{k}"]))
            x = f"s{k}"
    graph = b"".join(_bytes(1, n) for n in nodes) + _bytes(2, "lstm")
    graph += b"".join(_bytes(5, w) for w in weights)
    graph += _bytes(11, _value_info("x", ["frames", "batch", layers[0][0].shape[1]]))
    graph += _bytes(12, _value_info("h", [1, "batch", hidden]))
    opset = _bytes(1, "") + _int(2, OPSET)  # OperatorSetIdProto: domain = 1, version = 2
    return _int(1, IR_VERSION) + _bytes(7, graph) + _bytes(8, opset)


def lstm_session(
    layers: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], threads: int = 1
) -> Any:
    """An onnxruntime session (CPU, ``threads`` intra-op threads) of :func:`lstm_graph`."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(lstm_graph(layers), options, providers=["CPUExecutionProvider"])
