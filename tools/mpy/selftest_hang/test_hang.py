# Fixture for tests/host/test_mpy_runner.py: a test that never returns.
def test_never_returns():
    while True:
        pass
