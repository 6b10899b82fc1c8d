"""What instructors run: student templates, the bug zoo, the leak check, release zips, the
self-check (``verify``), the performance stability check, the GPU check, the grading-speed
benchmark, nbgrader and otter-grader exports and mutation testing.

This wing imports the engine, never the other way round.
"""
