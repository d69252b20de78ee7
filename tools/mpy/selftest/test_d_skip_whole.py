MPY_SKIP = "CPython-only behaviour"


def test_skipped():
    raise AssertionError("must not run under MicroPython")
