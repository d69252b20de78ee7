"""How many Hypothesis examples a property test runs: all of them, or a fifth under
`make mutation` (HYPOTHESIS_STATEFUL=mutation), which runs every selected test once per surviving
mutant and must finish within an hour on 2 cores (issue 8)."""
import os

MUTATION = os.environ.get("HYPOTHESIS_STATEFUL") == "mutation"


def examples(n):
    return max(5, n // 5) if MUTATION else n
