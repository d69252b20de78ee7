import no_such_module_anywhere  # noqa: F401


def test_never_runs():
    pass
