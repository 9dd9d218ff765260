"""Make a driver's next port choice collide with a port somebody else holds."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest


@contextmanager
def first_port_taken(
    monkeypatch: pytest.MonkeyPatch, module: ModuleType, chooser: str
) -> Iterator[int]:
    """While the block runs, UDP 127.0.0.1:<port> is held here and ``module.chooser()`` returns
    that port once (then free ones): the race a driver must survive by choosing again."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        taken: int = squatter.getsockname()[1]
        ports = iter([taken])
        real = getattr(module, chooser)

        def choose(**kwargs: Any) -> int:
            return next(ports, None) or real(**kwargs)

        monkeypatch.setattr(module, chooser, choose)
        yield taken
