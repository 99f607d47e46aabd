"""Label colours the service assigns never repeat one the manager chose."""

from annotation.services.projects import PALETTE, normalize_label_specs


def test_an_assigned_colour_never_repeats_a_chosen_one():
    chosen = PALETTE[0]
    specs = normalize_label_specs(["first", {"name": "mine", "color": chosen.upper()}, "third"])
    colors = [spec["color"] for spec in specs]
    assert colors[1] == chosen
    assert len(set(colors)) == 3


def test_more_labels_than_the_palette_still_get_distinct_colours():
    chosen = [{"name": f"c{i}", "color": color} for i, color in enumerate(PALETTE[:3])]
    specs = normalize_label_specs(chosen + [f"auto{i}" for i in range(30)])
    colors = [spec["color"] for spec in specs]
    assert len(set(colors)) == len(colors) == 33
    assert all(len(c) == 7 and c.startswith("#") for c in colors)


def test_the_admin_names_its_models_in_plain_english():
    from annotation.models import AnnotatorQuality, ImportBatch

    assert AnnotatorQuality._meta.verbose_name_plural == "annotator qualities"
    assert ImportBatch._meta.verbose_name_plural == "import batches"
