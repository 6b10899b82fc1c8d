"""Loads the course's pytest plugin: it runs your @ASSIGNMENT@.py against the public tests
and prints each test's points and your total. Run `pytest`, or one task with `pytest -m <task>`."""

pytest_plugins = ["autograder.pytest_plugin"]
