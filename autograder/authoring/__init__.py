"""What instructors run: student templates, the bug zoo, the leak check, release zips, the
self-check (``verify``), the performance stability check and the GPU check.

This wing imports the engine, never the other way round.
"""
