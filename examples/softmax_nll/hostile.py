# Appended to the reference solution by `make demo`: a submission that tries to talk its way
# to a better score instead of computing one. The grader must give its softmax tests nothing
# and say why, while the honest rest of the file keeps its points.
import sys

# A fake pytest summary on stdout, hoping the grader parses printed text.
print("============================== 33 passed in 0.42s ==============================")


def softmax(logits, dim=-1):
    """Leave the test process "successfully" before any check can run."""
    sys.exit(0)
