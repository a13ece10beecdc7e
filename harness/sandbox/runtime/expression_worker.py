"""An expression evaluator process: requests on stdin, replies on stdout, until stdin closes.

Started by :mod:`.expression_pool` as ``python -P <this file> <parent pid> <time limit ms> <memory bytes> <nice>``.
It loads ``expressions.py`` from next to itself without importing the ``harness`` package (whose
imports take half a second), so a replacement is ready in well under a second.

A frame is a 4-byte big-endian length and a pickle. Requests: ``("evaluate", source, context)`` and
``("resolve", value, context, pointer)``; replies: ``("ok", result)`` or ``("error", message, path,
category)``. The process runs at a lower CPU priority than the server, dies with its parent, and
cannot grow past its address-space limit; after a memory error it answers and exits.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import pickle
import resource
import signal
import struct
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

HEADER = struct.Struct(">I")
MEMORY_MESSAGE = "Expression evaluation exceeded the memory limit"
_PR_SET_PDEATHSIG = 1


def _load_expressions() -> ModuleType:
    path = Path(__file__).with_name("expressions.py")
    spec = importlib.util.spec_from_file_location("sandbox_expressions", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _die_with(parent: int) -> None:
    """Be killed when the parent exits (Linux); exit now if it is already gone."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(0)


def _read(stream: BinaryIO, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _write(stream: BinaryIO, reply: tuple[Any, ...]) -> None:
    data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def _answer(expressions: ModuleType, request: tuple[Any, ...]) -> tuple[Any, ...]:
    kind = request[0]
    try:
        if kind == "evaluate":
            return ("ok", expressions.evaluate(request[1], request[2]))
        if kind == "resolve":
            return ("ok", expressions.resolve_mapping(request[1], request[2], pointer=request[3]))
        return ("error", f"unknown request {kind!r}", None, "ExpressionError")
    except expressions.ExpressionError as exc:
        if isinstance(exc.__cause__, MemoryError):
            raise MemoryError from exc
        return ("error", exc.message, exc.path, exc.category)


def main(argv: list[str]) -> None:
    parent, limit_ms, memory, nice = int(argv[0]), float(argv[1]), int(argv[2]), int(argv[3])
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(nice)
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # Frames own the real stdout; anything else printed goes to stderr (the server log).
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    expressions = _load_expressions()
    expressions.DEFAULT_TIMEOUT_MS = limit_ms
    _write(replies, ("ready",))
    while True:
        header = _read(requests, HEADER.size)
        body = _read(requests, HEADER.unpack(header)[0]) if header else None
        if body is None:
            return
        try:
            reply = _answer(expressions, pickle.loads(body))
        except MemoryError:
            _write(replies, ("error", MEMORY_MESSAGE, None, "ExpressionError"))
            return  # a process that ran out of memory is not trusted with the next request
        _write(replies, reply)


if __name__ == "__main__":
    main(sys.argv[1:])
