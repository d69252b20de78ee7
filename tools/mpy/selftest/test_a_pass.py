import compat  # firmware/ is on sys.path in the lane


def test_ceil_div():
    assert compat.ceil_div(7, 2) == 4


def test_data_file_relative_to_repo():
    # cwd is the repo root in both lanes
    with open("tools/mpy/selftest/data.txt") as f:
        assert f.read().strip() == "vector-1"


def helper_not_a_test():
    raise RuntimeError("must not be collected")
