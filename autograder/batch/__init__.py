"""Grading a class: every submission of a folder or a Gradescope export, on Dask.

``jobs`` runs the batch (one ``autograder grade`` process per submission); ``roster`` finds
the submissions and their students; ``gradebook``, ``summary`` and ``feedback`` write what
staff read; ``progress`` reports on the way. This wing imports the engine, never the other
way round.
"""
