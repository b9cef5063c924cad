"""Running Rasa's prediction graph in one plain loop instead of through dask.

Rasa runs its graph (the NLU pipeline for each message, the policies for each action)
with `DaskGraphRunner`: each run works out the sub-graph the targets need, builds a dask
graph of it and hands it to dask's scheduler, which orders the tasks, tracks their
states and calls them. With about twenty nodes called in a fixed order, that machinery
took 10% of the Rasa server's event loop at concurrency 8, against 54% for the nodes
themselves (py-spy, README Speed).

`SequentialGraphRunner` calls the same `GraphNode`s with the same inputs (each node gets
its parents' `(name, output)` pairs, an input it cannot find as its name, as dask gives
them) in a dependency order worked out once per set of targets, and returns what
`DaskGraphRunner.run` returns. The nodes are called one after another in either runner
(dask's synchronous scheduler); only the order of independent nodes may differ, and the
nodes of a prediction graph do not depend on each other's side effects.

`install()` makes the serving Rasa process (`bot.runtime.rasa_server`) load its models
with it; training and `rasa test` keep dask.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import ExecutionContext, GraphNode, GraphNodeHook, GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.storage import ModelStorage

Step = tuple[str, GraphNode, tuple[str, ...]]


class SequentialGraphRunner(DaskGraphRunner):
    """`DaskGraphRunner` whose `run` calls the nodes in a plain loop."""

    def __init__(
        self,
        graph_schema: GraphSchema,
        model_storage: ModelStorage,
        execution_context: ExecutionContext,
        hooks: list[GraphNodeHook] | None = None,
    ) -> None:
        super().__init__(graph_schema, model_storage, execution_context, hooks)
        self._plans: dict[tuple[str, ...], list[Step]] = {}

    def plan(self, targets: list[str]) -> list[Step]:
        """The nodes the targets need, each after the nodes it needs, with its parents."""
        key = tuple(targets)
        steps = self._plans.get(key)
        if steps is not None:
            return steps
        steps = []
        placed: set[str] = set()

        def place(name: str, path: tuple[str, ...]) -> None:
            if name in placed:
                return
            if name in path:
                raise GraphRunError(f"The graph has a cycle through '{name}'.")
            node = self._graph_schema.nodes.get(name)
            if node is None:  # an input of the run, not a node
                return
            for parent in node.needs.values():
                place(parent, (*path, name))
            placed.add(name)
            steps.append((name, self._instantiated_nodes[name], tuple(node.needs.values())))

        for target in targets:
            place(target, ())
        self._plans[key] = steps
        return steps

    def run(
        self,
        inputs: dict[str, Any] | None = None,
        targets: list[str] | None = None,
    ) -> dict[str, Any]:
        """Runs the graph (see `GraphRunner.run`): the same result as dask's run."""
        run_targets = targets if targets else self._graph_schema.target_names
        outputs: dict[str, Any] = {}
        for input_name, input_value in (inputs or {}).items():
            if isinstance(input_value, str) and input_value in self._graph_schema.nodes:
                raise GraphRunError(
                    f"Input value '{input_value}' clashes with a node name. Make sure "
                    f"that none of the input names passed to the `run` method are the "
                    f"same as node names in the graph schema."
                )
            outputs[input_name] = (input_name, input_value)
        try:
            for name, node, parents in self.plan(run_targets):
                outputs[name] = node(*(outputs.get(parent, parent) for parent in parents))
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return dict(outputs[target] for target in run_targets)


def install() -> None:
    """Make Rasa's message processor run its prediction graph with `SequentialGraphRunner`."""
    import rasa.core.processor

    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner


def uninstall() -> None:
    """Put dask back (tests)."""
    import rasa.core.processor

    rasa.core.processor.DaskGraphRunner = DaskGraphRunner
