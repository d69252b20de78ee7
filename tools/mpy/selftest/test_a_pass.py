import compat  # firmware/ is on sys.path in the lane


def test_gcd():
    assert compat.gcd(12, 18) == 6


def test_data_file_relative_to_repo():
    # cwd is the repo root in both lanes
    with open("tools/mpy/selftest/data.txt") as f:
        assert f.read().strip() == "vector-1"


def helper_not_a_test():
    raise RuntimeError("must not be collected")
