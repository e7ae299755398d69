"""BPMN 2.0: parse and validate XML into an immutable graph, evaluate its expressions,
render its diagrams as SVG. Pure Python: nothing here imports Django or the project."""
