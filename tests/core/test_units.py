import pytest

from core.units import duration_label, size_label


@pytest.mark.parametrize(
    ("ms", "label"),
    [
        (-1, "forever"),
        (250, "250 ms"),
        (45_000, "45 s"),
        (90 * 60_000, "1 h 30 min"),
        (3_600_000, "1 h"),
        (7 * 86_400_000, "7 days"),
        (86_400_000 + 12 * 3_600_000, "1 day 12 h"),
        (86_400_000 + 5 * 60_000, "1 day"),
    ],
)
def test_durations_read_in_the_largest_two_whole_units(ms, label):
    assert duration_label(ms) == label


@pytest.mark.parametrize(
    ("size", "label"),
    [(-1, "no size limit"), (0, "0 B"), (512, "512 B"), (1536, "1.5 KB"), (1 << 30, "1 GB"), (150 * (1 << 20), "150 MB")],
)
def test_sizes_read_in_binary_units_with_one_decimal_where_it_matters(size, label):
    assert size_label(size) == label


def test_unknown_quantities_read_as_a_dash():
    assert duration_label(None) == size_label(None) == "–"
