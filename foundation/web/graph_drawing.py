"""The processing graph as a drawing: steps layered by depth, edges from parent to child.

The layout is computed here, in plain numbers, and drawn as SVG by the graph page's
template: no JavaScript, no external library. A step's depth is the length of the longest
path from the root, so every edge goes down; within a layer, steps are placed near the mean
position of their parents, which keeps most edges short and few of them crossing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from foundation.core.processing_graph import ProcessingGraph, ProcessingStep, processing_graph

NODE_WIDTH = 250
NODE_HEIGHT = 46
HORIZONTAL_GAP = 18
VERTICAL_GAP = 56
MARGIN = 12


@dataclass(frozen=True)
class PlacedStep:
    step: ProcessingStep
    depth: int
    x: int
    y: int

    @property
    def center_x(self) -> int:
        return self.x + NODE_WIDTH // 2

    @property
    def text_x(self) -> int:
        return self.x + 10


@dataclass(frozen=True)
class Edge:
    parent: str
    child: str
    path: str
    """The SVG path (`d`) of a cubic curve from the parent's bottom to the child's top."""


@dataclass(frozen=True)
class GraphDrawing:
    width: int
    height: int
    node_width: int
    node_height: int
    steps: list[PlacedStep]
    edges: list[Edge]
    num_layers: int


def depths(graph: ProcessingGraph) -> dict[str, int]:
    """Longest distance from a root step, for every step (graph order lists parents first)."""
    depth: dict[str, int] = {}
    for step in graph.in_graph_order():
        depth[step.name] = 1 + max((depth[parent] for parent in step.triggered_by), default=-1)
    return depth


def _layers(graph: ProcessingGraph, depth: dict[str, int]) -> list[list[str]]:
    """Steps of each depth, ordered by the mean position of their parents in the layers above."""
    layers: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    position: dict[str, float] = {}
    for level, layer in enumerate(layers):
        names = sorted(name for name, step_depth in depth.items() if step_depth == level)

        def barycenter(name: str) -> float:
            parents = graph.steps_by_name[name].triggered_by
            return sum(position[parent] for parent in parents) / len(parents) if parents else 0.0

        layer.extend(sorted(names, key=lambda name: (barycenter(name), name)))
        for index, name in enumerate(layer):
            position[name] = (index + 0.5) / len(layer)
    return layers


def _edge_path(parent: PlacedStep, child: PlacedStep) -> str:
    x1, y1 = parent.center_x, parent.y + NODE_HEIGHT
    x2, y2 = child.center_x, child.y
    bend = max(VERTICAL_GAP, (y2 - y1) // 2)
    return f"M{x1},{y1} C{x1},{y1 + bend} {x2},{y2 - bend} {x2},{y2}"


@cache
def graph_drawing() -> GraphDrawing:
    """The drawing of the service's graph (it does not change while the service runs)."""
    graph = processing_graph()
    depth = depths(graph)
    layers = _layers(graph, depth)
    widest = max(len(layer) for layer in layers)
    width = 2 * MARGIN + widest * NODE_WIDTH + (widest - 1) * HORIZONTAL_GAP
    placed: dict[str, PlacedStep] = {}
    for level, layer in enumerate(layers):
        layer_width = len(layer) * NODE_WIDTH + (len(layer) - 1) * HORIZONTAL_GAP
        left = (width - layer_width) // 2
        for index, name in enumerate(layer):
            placed[name] = PlacedStep(
                step=graph.steps_by_name[name],
                depth=level,
                x=left + index * (NODE_WIDTH + HORIZONTAL_GAP),
                y=MARGIN + level * (NODE_HEIGHT + VERTICAL_GAP),
            )
    edges = [
        Edge(parent, step.name, _edge_path(placed[parent], placed[step.name]))
        for step in graph.in_graph_order()
        for parent in step.triggered_by
    ]
    return GraphDrawing(
        width=width,
        height=2 * MARGIN + len(layers) * NODE_HEIGHT + (len(layers) - 1) * VERTICAL_GAP,
        node_width=NODE_WIDTH,
        node_height=NODE_HEIGHT,
        steps=[placed[step.name] for step in graph.in_graph_order()],
        edges=edges,
        num_layers=len(layers),
    )
