MPY_SKIP = ("test_skipped_one",)


def test_runs():
    assert True


def test_skipped_one():
    raise AssertionError("must not run under MicroPython")
