"""Make a Piper (VITS) ONNX model deterministic: its random noise becomes inputs we feed.

Takes the bytes of a `.onnx` model and gives the bytes of an equivalent model in which each
`RandomNormalLike(X)` node is replaced by `Slice(filmc_noise_K, 0, Shape(X))`: the noise
comes from a graph input `filmc_noise_K` (float32, rank 3, at least as large as X on every
axis) instead of onnxruntime's generator, whose state lives in the session and advances on
every run. The shape of X is also exposed as the output `filmc_shape_K`, so the caller can
check that the noise it fed was large enough (a smaller one would silently broadcast).

With the noise fed from a seeded, counter-based generator (`speech_dsp.gaussian`), every run
is a pure function of its inputs: the same line gives the same samples in any process and
after any other line, and the voice keeps VITS's natural variation (noise_scale 0.667,
noise_w 0.8) instead of the flat delivery of noise_scale=0.

A model with any other random op left (another kind, or one inside a subgraph) is refused
with a ValueError rather than allowed to make takes that differ from run to run.

The edit works on the protobuf wire format directly (the `onnx` package is not a
dependency): a ModelProto's field 7 is its GraphProto, whose field 1 holds the NodeProtos,
5 the initializers, 11 the inputs and 12 the outputs. Everything else is copied byte for
byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

NOISE_INPUT = "filmc_noise_{}"
SHAPE_OUTPUT = "filmc_shape_{}"
_ZEROS = "filmc_zeros3"
_RANDOM_OPS = ("RandomNormalLike", "RandomNormal", "RandomUniformLike", "RandomUniform",
               "Multinomial", "Bernoulli")
"""Ops that draw from onnxruntime's generator; none may be left (say, inside a subgraph)."""

# Wire types, and the ONNX enum values used below.
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_FLOAT, _INT64 = 1, 7


@dataclass(frozen=True)
class PatchedModel:
    """The rewritten model, and the noise inputs / shape outputs it gained (one per node)."""

    model: bytes
    noise_inputs: tuple[str, ...]
    shape_outputs: tuple[str, ...]


def _varint(data: bytes | memoryview, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(data: memoryview, start: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
    """(field number, wire type, field start, payload start, payload end) for each field;
    a payload's end is also its field's end."""
    i = start
    while i < end:
        key, j = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            k = _varint(data, j)[1]
        elif wire == _I64:
            k = j + 8
        elif wire == _I32:
            k = j + 4
        elif wire == _LEN:
            size, j = _varint(data, j)
            k = j + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, i, j, k
        i = k


def _enc_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _enc_varint(number << 3 | _LEN) + _enc_varint(len(payload)) + payload


def _int_field(number: int, value: int) -> bytes:
    return _enc_varint(number << 3 | _VARINT) + _enc_varint(value)


def _str_field(number: int, text: str) -> bytes:
    return _len_field(number, text.encode())


def _node(op: str, inputs: list[str], outputs: list[str], name: str) -> bytes:
    body = b"".join(_str_field(1, x) for x in inputs) + b"".join(
        _str_field(2, x) for x in outputs)
    return _len_field(1, body + _str_field(3, name) + _str_field(4, op))


def _value_info(name: str, elem_type: int, dims: list[str]) -> bytes:
    shape = b"".join(_len_field(1, _str_field(2, dim)) for dim in dims)
    tensor_type = _int_field(1, elem_type) + _len_field(2, shape)
    return _str_field(1, name) + _len_field(2, _len_field(1, tensor_type))


def _node_parts(data: memoryview, start: int, end: int) -> tuple[str, list[str], list[str]]:
    op, inputs, outputs = "", [], []
    for number, _, _, a, b in _fields(data, start, end):
        if number == 4:
            op = bytes(data[a:b]).decode()
        elif number == 1:
            inputs.append(bytes(data[a:b]).decode())
        elif number == 2:
            outputs.append(bytes(data[a:b]).decode())
    return op, inputs, outputs


def patch_random_ops(model: bytes) -> PatchedModel:
    """Replace every top-level `RandomNormalLike` node by a slice of a noise input."""
    data = memoryview(model)
    graph: tuple[int, int] | None = None
    header_end = 0
    for number, wire, field, a, b in _fields(data, 0, len(model)):
        if number == 7 and wire == _LEN:
            header_end, graph = field, (a, b)
    if graph is None:
        raise ValueError("not an ONNX model: no graph")

    pieces: list[bytes | memoryview] = []
    noise: list[str] = []
    shapes: list[str] = []
    copied = graph[0]
    for number, wire, field, a, b in _fields(data, *graph):
        if number != 1 or wire != _LEN:
            continue
        op, inputs, outputs = _node_parts(data, a, b)
        if op != "RandomNormalLike":
            continue
        k = len(noise)
        noise.append(NOISE_INPUT.format(k))
        shapes.append(SHAPE_OUTPUT.format(k))
        pieces.append(data[copied:field])
        pieces.append(_node("Shape", [inputs[0]], [shapes[-1]], f"filmc_Shape_{k}"))
        pieces.append(_node("Slice", [noise[-1], _ZEROS, shapes[-1]], [outputs[0]],
                            f"filmc_Slice_{k}"))
        copied = b
    pieces.append(data[copied:graph[1]])
    if noise:
        zeros = (_int_field(1, 3) + _int_field(2, _INT64) + _str_field(8, _ZEROS)
                 + _len_field(9, bytes(24)))
        pieces.append(_len_field(5, zeros))
    for name in noise:
        pieces.append(_len_field(11, _value_info(name, _FLOAT, [f"{name}_{d}" for d in "bct"])))
    for name in shapes:
        pieces.append(_len_field(12, _value_info(name, _INT64, ["rank"])))
    body = b"".join(pieces)

    patched = b"".join([data[:header_end], _len_field(7, body), data[graph[1]:]])
    for op in _RANDOM_OPS:
        if _str_field(4, op) in patched:
            raise ValueError(f"the voice uses {op} where it cannot be made deterministic")
    return PatchedModel(model=patched, noise_inputs=tuple(noise), shape_outputs=tuple(shapes))
