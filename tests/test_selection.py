import numpy as np

from cvae.viz.selection import LatentPick, pick_from_selection

POINTS = np.array([[0.0, 0.0], [1.0, 1.0], [-2.0, 0.5]])


def _point(curve, x, y, customdata=None, index=0):
    point = {"curve_number": curve, "point_index": index, "x": x, "y": y}
    if customdata is not None:
        point["customdata"] = customdata
    return point


def test_click_on_a_digit_picks_it():
    selection = {"points": [_point(3, 1.0, 1.0, customdata=1)]}
    assert pick_from_selection(selection, POINTS, grid_curve=0, snap=0.05) == LatentPick((1.0, 1.0), 1)


def test_digit_wins_over_grid_node_in_the_same_event():
    selection = {"points": [_point(0, 1.02, 0.98), _point(2, 1.0, 1.0, customdata=[1])]}
    assert pick_from_selection(selection, POINTS, grid_curve=0, snap=0.05).index == 1


def test_empty_space_decodes_the_exact_grid_point():
    selection = {"points": [_point(0, 2.5, -1.75)]}
    assert pick_from_selection(selection, POINTS, grid_curve=0, snap=0.05) == LatentPick((2.5, -1.75), None)


def test_grid_node_next_to_a_digit_snaps_to_the_digit():
    selection = {"points": [_point(0, -1.97, 0.52)]}
    assert pick_from_selection(selection, POINTS, grid_curve=0, snap=0.05) == LatentPick((-2.0, 0.5), 2)


def test_empty_or_missing_selection_keeps_the_last_pick():
    for selection in (None, {}, {"points": []}, {"points": [], "box": []}):
        assert pick_from_selection(selection, POINTS, grid_curve=0, snap=0.05) is None


def test_box_selection_decodes_its_centre():
    selection = {"points": [], "box": [{"x": [2.0, 3.0], "y": [-1.0, -0.5]}]}
    assert pick_from_selection(selection, POINTS, grid_curve=0, snap=0.05) == LatentPick((2.5, -0.75), None)


def test_malformed_points_are_ignored():
    selection = {"points": [{"curve_number": 1, "x": "nan", "y": 0}, {"x": None}, _point(1, 0.0, 0.0, "zz")]}
    assert pick_from_selection(selection, POINTS, grid_curve=0, snap=0.05) == LatentPick((0.0, 0.0), 0)
    out_of_range = {"points": [_point(1, 5.0, 5.0, customdata=99)]}
    assert pick_from_selection(out_of_range, POINTS, grid_curve=0, snap=0.05) == LatentPick((5.0, 5.0), None)
