"""SequentialGraphRunner: what Rasa's DaskGraphRunner returns, without dask."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

from bot.runtime.graph_runner import SequentialGraphRunner

CALLS: list[str] = []


class Join(GraphComponent):
    """Joins its inputs' texts with its own name; logs each call."""

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> Join:
        return cls(config["name"])

    def run(self, **parts: Any) -> str:
        CALLS.append(self.name)
        if "boom" in parts.values():
            raise RuntimeError("boom")
        return "(" + "+".join(f"{key}={parts[key]}" for key in sorted(parts)) + f")>{self.name}"


def node(name: str, **needs: str) -> SchemaNode:
    return SchemaNode(needs=needs, uses=Join, constructor_name="create", fn="run",
                      config={"name": name}, eager=True)  # fmt: skip


# A diamond with a shared parent, a node no target needs and two targets.
SCHEMA = GraphSchema(
    {
        "tokens": node("tokens", text="__message__"),
        "words": node("words", t="tokens"),
        "chars": node("chars", t="tokens"),
        "intent": node("intent", w="words", c="chars"),
        "unused": node("unused", t="tokens"),
        "entities": node("entities", t="tokens", i="intent"),
        "no_input": node("no_input", x="__tracker__"),
    }
)


@pytest.fixture()
def runners(tmp_path) -> tuple[DaskGraphRunner, SequentialGraphRunner]:
    context = ExecutionContext(SCHEMA, "test")
    storage = LocalModelStorage(tmp_path)
    return (
        DaskGraphRunner(SCHEMA, storage, context),
        SequentialGraphRunner(SCHEMA, storage, context),
    )


@pytest.mark.parametrize(
    "targets", [["intent"], ["entities", "intent"], ["tokens"], ["entities"], None]
)
def test_the_same_results_as_dask_with_each_node_run_once(runners, targets):
    dask, sequential = runners
    inputs = {"__message__": "你好"}
    CALLS.clear()
    expected = dask.run(inputs, targets)
    dask_calls = sorted(CALLS)
    CALLS.clear()
    assert sequential.run(inputs, targets) == expected
    assert sorted(CALLS) == dask_calls
    assert len(CALLS) == len(set(CALLS))  # the shared parent ran once
    assert "unused" not in CALLS or targets is None


def test_parents_run_before_their_children(runners):
    _, sequential = runners
    CALLS.clear()
    result = sequential.run({"__message__": "x"}, ["entities"])
    assert CALLS.index("tokens") < CALLS.index("words") < CALLS.index("intent")
    assert CALLS.index("chars") < CALLS.index("intent") < CALLS.index("entities")
    assert result["entities"].endswith(">entities")
    # The plan is worked out once per set of targets.
    assert sequential.plan(["entities"]) is sequential.plan(["entities"])


def test_an_input_that_is_not_given_reaches_the_node_as_its_name(runners):
    dask, sequential = runners
    # Dask hands a node its missing input's name (GraphNode then logs a warning and
    # fails on the missing argument); the sequential runner does the same.
    with pytest.raises(Exception) as from_dask:
        dask.run({}, ["no_input"])
    with pytest.raises(Exception) as from_sequential:
        sequential.run({}, ["no_input"])
    assert type(from_sequential.value) is type(from_dask.value)


def test_errors_are_raised_as_rasa_raises_them(runners):
    dask, sequential = runners
    for runner in runners:
        with pytest.raises(GraphRunError, match="clashes with a node name"):
            runner.run({"__message__": "tokens"}, ["tokens"])
    # A RuntimeError inside a node (Rasa wraps it in GraphComponentException, itself a
    # RasaException) comes out of either runner as the same type.
    with pytest.raises(Exception) as from_dask:
        dask.run({"__message__": "boom"}, ["tokens"])
    with pytest.raises(Exception) as from_sequential:
        sequential.run({"__message__": "boom"}, ["tokens"])
    assert type(from_sequential.value) is type(from_dask.value)
