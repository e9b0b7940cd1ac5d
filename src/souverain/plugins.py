"""One plug-in idiom for backends, detectors and scorers: a lazy, named registry.

A :class:`Registry` holds named items of one kind. Nothing is imported until the registry is first
read: then the built-ins (a ``"module:attribute"`` mapping, named by string so that the registry's
module never imports them) are loaded, then every installed package's entry points of the
registry's group (``souverain.backends``, ``souverain.detectors``, ``souverain.scorers``). Items
registered in code (:meth:`Registry.register`) win over entry points of the same name; built-ins
can be replaced only with ``replace=True``.

Adding a plug-in from a package::

    [project.entry-points."souverain.detectors"]
    my_ner = "my_pkg.detect:make_detector"
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import entry_points
from typing import Generic, TypeVar

T = TypeVar("T")


def load_object(path: str) -> object:
    """``"package.module:attribute"`` -> the attribute."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


class Registry(Mapping[str, T], Generic[T]):
    """Named items of one kind, loaded on first use (see the module docstring).

    ``builtins`` names a mapping ``name -> item``; ``entry_point`` turns what an entry point
    loads into an item and its name (default: the entry point's name and the object itself).
    """

    def __init__(
        self,
        group: str,
        builtins: str,
        *,
        entry_point: Callable[[str, object], tuple[str, T]] | None = None,
    ) -> None:
        self.group = group
        self._builtins = builtins
        self._entry_point = entry_point or (lambda name, obj: (name, obj))  # type: ignore[assignment,return-value]
        self._items: dict[str, T] = {}
        self._registered: dict[str, T] = {}
        self._loaded = False

    def _load(self) -> dict[str, T]:
        if not self._loaded:
            builtin = load_object(self._builtins)
            assert isinstance(builtin, Mapping), f"{self._builtins} is not a mapping"
            items: dict[str, T] = dict(builtin)
            for ep in entry_points(group=self.group):
                name, item = self._entry_point(ep.name, ep.load())
                items.setdefault(name, item)
            self._items = items
            self._loaded = True
        return self._items | self._registered

    def register(self, name: str, item: T, *, replace: bool = False) -> None:
        """Add ``item`` under ``name``; an existing name needs ``replace=True``."""
        if name in self._load() and not replace:
            raise ValueError(f"{self.group}: {name!r} is already registered (pass replace=True)")
        self._registered[name] = item

    def unregister(self, name: str) -> None:
        """Forget an item registered in code, or hide a built-in or entry point."""
        self._load()
        self._registered.pop(name, None)
        self._items.pop(name, None)

    def __getitem__(self, name: str) -> T:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())
