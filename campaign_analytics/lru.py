"""A small thread-safe LRU for values that are exact for their key (the key carries the
version of everything the value was computed from), shared by a process's threads."""

from __future__ import annotations

import threading
import typing
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class Lru:
    def __init__(self, size: int) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._size, self._lock = size, threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The value kept under ``key``, or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """Computing runs outside the lock: two threads missing at once both compute the
        same value, which is cheaper than making every hit wait on a slow miss."""
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return typing.cast(T, value)
