"""Profiles: validation as data, levels, explicit parameters, corpus fitting order."""

import pytest

from learning.compress import DEFAULT_PROFILE, FILTERS, Profile, ProfileError
from learning.compress.model_guided import ModelGuided


def problems(spec):
    with pytest.raises(ProfileError) as caught:
        Profile.from_dict(spec)
    return {(p.field, p.code) for p in caught.value.problems}


def test_the_default_profile_round_trips_through_plain_data():
    assert Profile.from_dict(DEFAULT_PROFILE.to_dict()) == DEFAULT_PROFILE
    assert {f["name"] for f in DEFAULT_PROFILE.to_dict()["filters"]} <= set(FILTERS)


def test_every_problem_is_reported_with_its_field():
    found = problems(
        {
            "name": "",
            "colour": "red",
            "filters": [
                {"name": "boilerplate", "min_fraction": "high", "threshold": 3},
                {"name": "gzip"},
                {"name": "repetition", "ngram": 2},
                "markup",
            ],
        }
    )
    assert found == {
        ("name", "required"),
        ("colour", "unknown"),
        ("filters[0].min_fraction", "invalid_type"),
        ("filters[0].threshold", "unknown"),
        ("filters[1].name", "unknown"),
        ("filters[2]", "invalid_value"),
        ("filters[3]", "invalid"),
    }
    assert problems({"name": "x", "filters": []}) == {("filters", "required")}
    assert problems([]) == {("", "invalid")}


def test_fitted_state_and_runtime_objects_are_not_spec_parameters():
    assert problems({"name": "x", "filters": [{"name": "boilerplate", "keys_": ["a"]}]}) == {
        ("filters[0].keys_", "unknown")
    }
    assert problems({"name": "x", "filters": [{"name": "model", "scorer": "m"}]}) == {
        ("filters[0].scorer", "unknown")
    }


def test_levels_map_to_parameters_and_explicit_parameters_win():
    profile = Profile.from_dict(
        {"name": "p", "filters": [{"name": "boilerplate", "min_items": 7}, {"name": "replies"}]}
    )
    gentle, hard = profile.build(0.25).steps, profile.build(1.0).steps[-2:]
    assert gentle[0].min_fraction > hard[0].min_fraction and hard[0].unit == "sentence"
    assert gentle[0].min_items == hard[0].min_items == 7
    assert not gentle[1].signatures and hard[1].headers
    assert profile.build(0).steps == ()
    # a level runs after every milder sweep level, so it can only remove more
    assert profile.build(1.0).steps[:4] == (*gentle, *profile.build(0.5).steps[2:])
    assert len(profile.build(0.6).steps) == 3 * 2
    with pytest.raises(ProfileError):
        profile.build(1.5)


def test_the_model_filter_needs_a_scorer_at_build_time():
    profile = Profile.from_dict({"name": "m", "filters": [{"name": "model", "min_sentences": 4}]})
    with pytest.raises(ProfileError) as caught:
        profile.build(0.5)
    assert caught.value.problems[0].code == "needs_model"
    step = profile.build(0.5, scorer=lambda s: [0.0] * len(s)).steps[0]
    assert isinstance(step, ModelGuided) and step.min_sentences == 4 and step.drop_fraction == 0.25


def test_corpus_filters_fit_on_the_output_of_the_filters_before_them():
    # The banner only recurs once the markup around it (different per item) is gone.
    texts = [
        f'<div id="n{i}"><p>Accept our cookie policy to continue browsing</p></div>item {i} text'
        for i in range(10)
    ]
    profile = Profile.from_dict(
        {
            "name": "p",
            "filters": [{"name": "markup"}, {"name": "boilerplate"}, {"name": "normalize"}],
        }
    )
    pipeline = profile.build(0.5)
    assert [e.text for e in pipeline.fit_transform(texts)][2] == "item 2 text"
    assert pipeline.apply("<p>Accept our cookie policy to continue browsing</p>new").text == "new"
    assert texts[2].startswith('<div id="n2">')  # originals are untouched


def test_the_compression_core_imports_no_django():
    import subprocess
    import sys

    code = "import sys, learning.compress; print('django' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": ".", "PATH": "/usr/bin:/bin"},
    )
    assert done.stdout.strip() == "False", done.stderr
