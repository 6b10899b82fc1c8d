"""Code that runs beside the student's module, inside the sandbox.

Self-contained (standard library, numpy, torch): the sandbox gets a copy of this folder
and nothing else of the grader.
"""
