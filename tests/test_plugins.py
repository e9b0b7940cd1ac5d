"""One plug-in idiom: backends, detectors and scorers come from a lazy registry that reads the
built-ins, then installed packages' entry points; code registration wins, duplicates are refused."""

from __future__ import annotations

from typing import Any

import pytest

from souverain import plugins
from souverain.backends.base import Backend
from souverain.evaluation.scorers import Exact, ItemScore, Scorer
from souverain.plugins import Registry


class FakeEntryPoint:
    def __init__(self, name: str, obj: object) -> None:
        self.name, self._obj = name, obj

    def load(self) -> object:
        return self._obj


BUILTIN = {"one": 1, "two": 2}


def with_entry_points(monkeypatch: pytest.MonkeyPatch, **groups: list[FakeEntryPoint]) -> None:
    monkeypatch.setattr(plugins, "entry_points", lambda group: groups.get(group, []))


def test_builtins_then_entry_points_loaded_on_first_read(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def eps(group: str) -> list[FakeEntryPoint]:
        calls.append(group)
        return [FakeEntryPoint("three", 3), FakeEntryPoint("one", 100)]

    monkeypatch.setattr(plugins, "entry_points", eps)
    reg: Registry[int] = Registry("test.group", f"{__name__}:BUILTIN")
    assert calls == []  # nothing loaded at construction
    assert dict(reg) == {"one": 1, "two": 2, "three": 3}  # a built-in is not overridden
    assert calls == ["test.group"]
    assert list(reg) == ["one", "two", "three"] and len(reg) == 3
    with pytest.raises(ValueError, match="already registered"):
        reg.register("two", 22)
    reg.register("two", 22, replace=True)
    reg.register("four", 4)
    assert reg["two"] == 22 and reg["four"] == 4
    reg.unregister("four")
    assert "four" not in reg and calls == ["test.group"]  # loaded once


class Shout(Scorer):
    name = "shout"

    def score(self, output: str, expected: Any, options: Any) -> ItemScore:
        return ItemScore(float(output.isupper()), {})


class NotABackend:
    type_name = "nope"


def test_each_kind_takes_plug_ins_from_its_entry_point_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from souverain.backends.registry import _by_type_name
    from souverain.evaluation.scorers import _scorer

    with_entry_points(monkeypatch, **{"souverain.scorers": [FakeEntryPoint("x", Shout)]})
    scorers = Registry(
        "souverain.scorers", "souverain.evaluation.scorers:BUILTIN", entry_point=_scorer
    )
    assert scorers["shout"].score("HEY", None, None).score == 1.0
    assert isinstance(scorers["exact"], Exact)

    class Dummy(Backend):
        type_name = "dummy"

    with_entry_points(monkeypatch, **{"souverain.backends": [FakeEntryPoint("whatever", Dummy)]})
    backends = Registry(
        "souverain.backends", "souverain.backends.builtin:BUILTIN", entry_point=_by_type_name
    )
    assert backends["dummy"] is Dummy and {"llamacpp", "openai"} <= set(backends)
    with_entry_points(monkeypatch, **{"souverain.backends": [FakeEntryPoint("bad", NotABackend)]})
    broken = Registry(
        "souverain.backends", "souverain.backends.builtin:BUILTIN", entry_point=_by_type_name
    )
    with pytest.raises(TypeError, match="not a Backend subclass"):
        dict(broken)


def test_detectors_register_in_code_and_built_ins_stay() -> None:
    from souverain.detect import Scanner, detector_factories, register_detector
    from souverain.detect.finding import Finding
    from souverain.detect.registry import unregister_detector

    assert {"secrets", "email", "numbers", "person_names"} <= set(detector_factories())
    with pytest.raises(ValueError, match="already registered"):
        register_detector("email", lambda options: None)

    def badge(text: str) -> list[Finding]:
        at = text.find("BADGE-")
        return [] if at < 0 else [Finding("secret", at, at + 10, text[at : at + 10])]

    register_detector("badge", lambda options: badge)
    try:
        assert any(f.start == 4 for f in Scanner().scan("see BADGE-1234 here"))
    finally:
        unregister_detector("badge")
    assert "badge" not in detector_factories()
