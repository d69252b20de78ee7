def test_passes():
    assert 1 + 1 == 2


def test_bare_assert_fails():
    x = 3
    assert x == 4, "asserts are kept"


def test_raises():
    raise ValueError("boom")
