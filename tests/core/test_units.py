import pytest

from core.units import duration_input, duration_label, parse_duration, size_label


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
    [
        (-1, "no size limit"),
        (0, "0 B"),
        (512, "512 B"),
        (1536, "1.5 KB"),
        (1 << 30, "1 GB"),
        (150 * (1 << 20), "150 MB"),
    ],
)
def test_sizes_read_in_binary_units_with_one_decimal_where_it_matters(size, label):
    assert size_label(size) == label


def test_unknown_quantities_read_as_a_dash():
    assert duration_label(None) == size_label(None) == "–"


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("7 days", 7 * 86_400_000),
        ("12 h", 43_200_000),
        ("12h", 43_200_000),
        ("1 day 12 h", 129_600_000),
        ("1.5 hours", 5_400_000),
        ("90 min", 5_400_000),
        ("2 weeks", 14 * 86_400_000),
        ("500 ms", 500),
        ("forever", -1),
        ("-1", -1),
    ],
)
def test_a_duration_typed_in_units_reads_as_milliseconds(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["7", "soon", "", "h", "7 fortnights", "1.0005 s", "-7 days"])
def test_a_duration_without_a_known_unit_or_whole_milliseconds_is_refused_with_a_reason(text):
    with pytest.raises(ValueError, match=r"duration|unit|milliseconds"):
        parse_duration(text)


@pytest.mark.parametrize("ms", [-1, 0, 1, 999, 1500, 60_000, 86_400_000 + 1, 7 * 86_400_000, 129_600_000 + 61_001])
def test_the_editable_form_of_a_duration_reads_back_exactly(ms):
    assert parse_duration(duration_input(ms)) == ms
