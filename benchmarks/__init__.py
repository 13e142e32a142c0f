"""coplib's benchmarks: each module is a script (``python -m benchmarks.<name>``) printing its
figures and its ratios against a raw baseline measured in the same run. docs/performance.md
has the results and how to read them."""
