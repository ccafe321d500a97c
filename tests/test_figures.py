"""Tests of the figure module on synthetic tables: files, determinism, font, label placement, tile map."""

from __future__ import annotations

import io
import itertools
import math
import struct
import warnings
from collections.abc import Callable
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib import font_manager
from matplotlib.image import imread
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from scipy.cluster.hierarchy import fcluster, linkage

from helpers import figures
from helpers.config import ProjectError
from helpers.fonts import cjk_font_file
from helpers.lexicon import Lexicon

TERMS = ["政务服务", "数据共享", "一体化平台", "营商环境", "城市大脑", "跨省通办", "电子证照", "数字经济",
         "公共数据资源", "好差评", "一网统管", "治理能力", "智慧城市", "区块链", "政务云", "基层治理"]
SOURCES = ["000", "001", "002", "003", "004"]
TOPIC_LABELS = ["T1 一网通办·政务服务·跨省通办", "T2 一网统管·城市运行·基层治理", "T3 数据共享·公共数据·开放",
                "T4 数字经济·产业·营商环境", "T5 政务云·网络安全·基础设施", "T6 数字乡村·农业·民生"]


def fake_tables(lexicon: Lexicon, seed: int = 7) -> dict[str, object]:
    """Realistic synthetic inputs of every figure: 31 provinces, 6 topics, 4 clusters."""
    rng = np.random.default_rng(seed)
    mainland = lexicon.mainland
    present = [name for name in mainland if name not in {"西藏", "青海"}]
    passages = pd.DataFrame(
        [[f"{source}-{index:04d}", source, name, "province"]
         for index, (source, name) in enumerate(itertools.product(SOURCES, present))
         for _ in range(int(rng.integers(0, 3)))]
        + [[f"{source}-9{index:03d}", source, figures.NATIONAL, "national"] for index, source in enumerate(SOURCES)],
        columns=["passage_id", "source_id", "province", "level"],
    )
    forms = [("一网通办", "一网通办", "canonical"), ("一网通办", "网通办", "damaged"),
             ("一网统管", "一网统管", "canonical"), ("一网统管", "一网通管", "variant"),
             ("跨省通办", "跨省通办", "canonical"), ("最多跑一次", "一次办好", "variant"),
             ("互联网+政务服务", "互联网+政务服务", "canonical"), ("城市大脑", "城市大脑", "canonical"),
             ("掌上办", "指尖办", "variant"), ("新概念", "新概念", "canonical")]
    mentions = pd.DataFrame(
        [[f"000-{index:04d}", "000", name, "province", concept, form, kind, int(rng.integers(1, 5))]
         for index, name in enumerate(present) for concept, form, kind in forms if rng.random() < 0.45]
        + [["000-9000", "000", figures.NATIONAL, "national", "一网通办", "一网通办", "canonical", 3]],
        columns=["passage_id", "source_id", "province", "level", "concept", "form", "form_kind", "count"],
    )
    distinctive = pd.DataFrame(
        [[name, rank, term, round(0.6 / rank + rng.random() * 0.05, 4)]
         for name in present for rank, term in enumerate(rng.permutation(TERMS)[:8], start=1)],
        columns=["province", "rank", "term", "score"],
    )
    topics = pd.DataFrame({"topic": range(1, 7), "label": TOPIC_LABELS, "share": rng.dirichlet(np.ones(6))})
    topic_terms = pd.DataFrame(
        [[topic, rank, term, round(1.0 / rank, 4)]
         for topic in range(1, 7) for rank, term in enumerate(rng.permutation(TERMS)[:8], start=1)],
        columns=["topic", "rank", "term", "weight"],
    )
    shares = rng.dirichlet(np.ones(6) * 0.8, size=len(present) + 1)
    province_topics = pd.DataFrame(
        [[name, topic + 1, shares[row, topic]] for row, name in enumerate([figures.NATIONAL, *present])
         for topic in range(6)],
        columns=["province", "topic", "share"],
    )
    tree = linkage(shares[1:], method="ward")
    cluster_ids = fcluster(tree, 4, criterion="maxclust")
    clusters = pd.DataFrame({"province": present, "cluster": cluster_ids, "thin": rng.random(len(present)) < 0.2})
    months = pd.period_range("2018-01", "2021-12", freq="M").strftime("%Y-%m")
    curve = pd.DataFrame(
        [[concept, month, count, count / len(present)]
         for concept, pace in (("一网通办", 0.9), ("一网统管", 0.35))
         for month, count in zip(months[::3], np.minimum(np.cumsum(rng.poisson(pace, len(months[::3]))), 29),
                                 strict=True)],
        columns=["concept", "date", "n_provinces", "share"],
    )
    dates = rng.choice(["2021-03", "2021-06", "2021", "2020-11", "2021-09", "2016-07", ""], size=len(present))
    similarity = pd.DataFrame({"province": present, "date": dates, "similarity": rng.uniform(0.05, 0.45, len(present)),
                               "n_chars": rng.integers(80, 3000, len(present))})
    rules = ["pinyin", "junk_symbols", "spaces", "line: advertising", "line: navigation", "line: copyright",
             "line: statistics", "gloss"]
    audit = pd.DataFrame(
        [[source, rule, int(rng.integers(1, 2000)), int(rng.integers(0, 12))]
         for source in SOURCES for rule in rules if rng.random() < 0.6],
        columns=["source_id", "rule", "chars_removed", "lines_dropped"],
    )
    grid = pd.read_csv(lexicon.folder / "tile_grid.csv")
    return {"passages": passages, "sources": pd.DataFrame({"source_id": SOURCES}), "mentions": mentions,
            "distinctive": distinctive, "topics": topics, "topic_terms": topic_terms,
            "province_topics": province_topics, "clusters": clusters, "linkage": tree, "labels": present,
            "curve": curve, "national_first": {"一网通办": "2018-06", "一网统管": "2020-03"},
            "similarity": similarity, "audit": audit, "grid": grid}


def figure_makers(tables: dict, lexicon: Lexicon) -> dict[str, Callable[[Path], Path]]:
    """Every figure of the module drawn from the fake tables: name -> function of a folder returning the file."""
    t = tables
    thin = t["clusters"].loc[t["clusters"]["thin"], "province"]
    cluster_values = t["clusters"].set_index("province")["cluster"]
    similarity_values = t["similarity"].set_index("province")["similarity"]
    return {
        "coverage": lambda folder: figures.coverage_heatmap(
            t["passages"], t["sources"], t["grid"], folder / "coverage.png", lexicon=lexicon),
        "concepts": lambda folder: figures.concept_heatmap(t["mentions"], folder / "concepts.png", lexicon=lexicon),
        "focus": lambda folder: figures.focus_concept_bars(
            t["mentions"], ["一网通办", "一网统管"], folder / "focus.png"),
        "distinctive": lambda folder: figures.distinctive_terms_grid(
            t["distinctive"], folder / "distinctive.png", clusters=t["clusters"], lexicon=lexicon),
        "topic_terms": lambda folder: figures.topic_terms_grid(t["topic_terms"], t["topics"], folder / "topics.png"),
        "province_topics": lambda folder: figures.province_topic_heatmap(
            t["province_topics"], t["topics"], t["clusters"], folder / "province_topics.png", lexicon=lexicon),
        "tile_clusters": lambda folder: figures.tile_map(
            cluster_values, t["grid"], folder / "tile_clusters.png", "Clusters", flagged=thin),
        "tile_similarity": lambda folder: figures.tile_map(
            similarity_values, t["grid"], folder / "tile_similarity.png", "Similarity", categorical=False,
            legend_title="cosine similarity"),
        "dendrogram": lambda folder: figures.dendrogram(
            t["linkage"], t["labels"], t["clusters"], folder / "dendrogram.png"),
        "adoption": lambda folder: figures.adoption_curve_plot(
            t["curve"], t["national_first"], folder / "adoption.png"),
        "similarity": lambda folder: figures.similarity_plot(t["similarity"], t["clusters"], folder / "similarity.png"),
        "audit": lambda folder: figures.cleaning_audit_plot(t["audit"], folder / "audit.png"),
    }


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG from its header."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def makers(lexicon: Lexicon) -> dict[str, Callable[[Path], Path]]:
    """The figure makers on one set of fake tables."""
    return figure_makers(fake_tables(lexicon), lexicon)


@pytest.mark.parametrize("name", ["coverage", "concepts", "focus", "distinctive", "topic_terms", "province_topics",
                                  "tile_clusters", "tile_similarity", "dendrogram", "adoption", "similarity",
                                  "audit"])
def test_figure_is_a_reproducible_untagged_page_wide_png(makers: dict, name: str, tmp_path: Path) -> None:
    first = makers[name](tmp_path / "first").read_bytes()
    second = makers[name](tmp_path / "second").read_bytes()
    width, height = png_size(first)
    assert width == round(figures.WIDTH * figures.DPI) == 1260
    assert 400 <= height <= 2400
    assert len(first) > 20_000
    assert first == second
    assert b"Software" not in first and b"matplotlib" not in first.lower()


def test_no_temporary_files_are_left(lexicon: Lexicon, tmp_path: Path) -> None:
    tables = fake_tables(lexicon)
    figures.cleaning_audit_plot(tables["audit"], tmp_path / "audit.png")
    assert sorted(item.name for item in tmp_path.iterdir()) == ["audit.png"]


def test_text_uses_the_cjk_font_file() -> None:
    figures.apply_house_style()
    family = mpl.rcParams["font.family"]
    found = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    assert Path(found) == cjk_font_file()
    assert family == ["Noto Sans SC"] or Path(found).suffix in {".ttc", ".ttf"}


def test_chinese_label_renders_without_missing_glyph_warning() -> None:
    figure = figures.new_figure(2.0)
    ax = figure.add_subplot()
    ax.set_title("一网通办·一网统管 与 跨省通办（2021）")
    ax.set_xlabel("黑龙江 内蒙古 新疆 share −5%")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure.savefig(io.BytesIO(), format="png")


def test_tile_map_marks_provinces_absent_from_values(lexicon: Lexicon, tmp_path: Path) -> None:
    grid = pd.read_csv(lexicon.folder / "tile_grid.csv")
    every = dict.fromkeys(grid["province"], 1)
    missing_fill = np.array(mpl.colors.to_rgb(figures.MISSING_FILL))

    def missing_pixels(values: dict[str, int], name: str) -> int:
        image = imread(figures.tile_map(values, grid, tmp_path / name, "test"))[..., :3]
        return int(np.all(np.abs(image - missing_fill) < 1 / 255, axis=-1).sum())

    complete = missing_pixels(every, "all.png")
    few_absent = missing_pixels({name: 1 for name in every if name not in {"西藏", "青海"}}, "two.png")
    many_absent = missing_pixels({name: 1 for name in list(every)[:10]}, "many.png")
    assert complete < 100  # a few anti-aliased text pixels at most
    assert 2000 < few_absent < many_absent


def test_a_map_without_any_value_is_not_drawn_and_an_older_one_is_removed(lexicon: Lexicon, tmp_path: Path) -> None:
    grid = pd.read_csv(lexicon.folder / "tile_grid.csv")
    path = figures.tile_map({"北京": 1}, grid, tmp_path / "map.png", "test")
    assert path.stat().st_size > 10_000
    assert figures.tile_map({}, grid, tmp_path / "map.png", "test") is None
    assert not path.exists()


def test_tile_map_rejects_a_province_without_tile(lexicon: Lexicon, tmp_path: Path) -> None:
    grid = pd.read_csv(lexicon.folder / "tile_grid.csv")
    with pytest.raises(ProjectError, match="tile_grid.csv"):
        figures.tile_map({"北京": 1, "火星": 2}, grid, tmp_path / "map.png", "test")


def test_province_order_puts_national_first_then_regions_north_to_south(lexicon: Lexicon) -> None:
    grid = pd.read_csv(lexicon.folder / "tile_grid.csv")
    order = figures.province_order(["海南", "北京", "黑龙江", "全国", "河北", "山西", "新疆"], grid, lexicon)
    assert order == ["全国", "北京", "河北", "海南", "山西", "新疆", "黑龙江"]


def test_label_placement_avoids_overlap() -> None:
    figure = figures.new_figure(3.0)
    ax = figure.add_subplot()
    xs, ys = [2021.0, 2021.0, 2021.0, 2021.1, 2020.9, 2021.05], [0.30, 0.31, 0.29, 0.30, 0.305, 0.295]
    names = ["黑龙江", "内蒙古", "北京", "上海", "广西", "新疆"]
    ax.scatter(xs, ys)
    ax.set_xlim(2019, 2023)
    ax.set_ylim(0.1, 0.5)
    figures.place_labels([(ax, x, y, name) for x, y, name in zip(xs, ys, names, strict=True)], marker_radius=2.5)
    figure.canvas.draw()
    boxes = [Text.get_window_extent(text) for text in ax.texts]  # the label without its leader line
    radius = 2.5 * figure.dpi / 72
    markers = [Bbox.from_bounds(x - radius, y - radius, 2 * radius, 2 * radius)
               for x, y in ax.transData.transform(np.column_stack([xs, ys]))]
    assert sorted(text.get_text() for text in ax.texts) == sorted(names)
    for first, second in itertools.combinations(boxes, 2):
        assert figures.overlap(first, [second]) == 0
    assert all(figures.overlap(box, markers) == 0 for box in boxes)


def test_dodge_separates_markers_sharing_a_date() -> None:
    figure = figures.new_figure(3.0)
    ax = figure.add_subplot()
    ax.set_xlim(2019, 2023)
    ax.set_ylim(0.0, 1.0)
    figure.draw_without_rendering()
    xs, ys = [2021.0] * 4 + [2020.0], [0.500, 0.501, 0.502, 0.8, 0.5]
    dodged = figures.dodge(ax, xs, ys, diameter=10.0)
    shown = ax.transData.transform(np.column_stack([dodged, ys]))
    assert dodged[3] == pytest.approx(2021.0) and dodged[4] == pytest.approx(2020.0)  # isolated points stay
    assert len(set(np.round(dodged[:3], 6))) == 3
    for first, second in itertools.combinations(shown, 2):
        assert math.dist(first, second) >= 10.0 - 1e-6


def test_wrap_label_breaks_at_separators_and_long_words() -> None:
    assert figures.wrap_label("T1 一网通办·政务服务·跨省通办", 7) == "T1 一网通办\n政务服务\n跨省通办"
    assert figures.wrap_label("T1 一网通办·政务服务", 6) == "T1\n一网通办\n政务服务"
    assert figures.wrap_label("公共数据资源平台", 4) == "公共数据\n资源平台"


def test_concept_colours_are_fixed_and_distinct() -> None:
    assert figures.concept_colour("一网通办") != figures.concept_colour("一网统管")
    assert len(set(figures.CONCEPT_COLOURS.values())) == len(figures.CONCEPT_COLOURS)
    fallback = figures.concept_colour("新概念")
    assert fallback == figures.concept_colour("新概念") and fallback in figures.FALLBACK_COLOURS
    assert figures.cluster_colour(1) == figures.CLUSTER_COLOURS[0]
    assert figures.cluster_colour(len(figures.CLUSTER_COLOURS) + 2) == figures.CLUSTER_COLOURS[1]


def test_year_fraction_reads_month_and_year_dates() -> None:
    assert figures.year_fraction("2021-04") == pytest.approx(2021.25)
    assert figures.year_fraction("2020") == 2020.0
    assert math.isnan(figures.year_fraction(""))


def test_many_sources_are_folded_into_one_column_of_others():
    import pandas as pd

    from helpers.figures import fold_columns

    matrix = pd.DataFrame({f"s{n:02d}": [n, 1] for n in range(30)}, index=["浙江", "上海"])
    folded = fold_columns(matrix, limit=5)
    assert list(folded.columns) == ["s26", "s27", "s28", "s29", "26 others"]
    assert folded["26 others"].tolist() == [sum(range(26)), 26]
    assert folded.to_numpy().sum() == matrix.to_numpy().sum()
    assert fold_columns(matrix, limit=30) is matrix


def test_per_source_figures_stay_page_sized_with_many_sources(tmp_path, lexicon):
    import pandas as pd
    from PIL import Image

    from helpers.figures import cleaning_audit_plot, coverage_heatmap

    sources = [f"{n:04d}" for n in range(400)]
    audit = pd.DataFrame({"source_id": sources, "rule": "pinyin", "chars_removed": range(400), "lines_dropped": 0})
    passages = pd.DataFrame({"source_id": sources, "province": "浙江", "level": "province"})
    cleaning_audit_plot(audit, tmp_path / "audit.png")
    coverage_heatmap(passages, pd.DataFrame({"source_id": sources}), pd.read_csv(
        lexicon.folder / "tile_grid.csv"), tmp_path / "coverage.png", lexicon=lexicon)
    for name in ("audit.png", "coverage.png"):
        width, height = Image.open(tmp_path / name).size
        assert width <= 1300 and height < 2000, (name, width, height)


def empty(table: pd.DataFrame) -> pd.DataFrame:
    """The same table with its columns and no rows: how a stage writes a skipped analysis."""
    return table.iloc[:0]


@pytest.mark.parametrize("name", ["coverage", "concepts", "focus", "distinctive", "topic_terms", "province_topics",
                                  "tile_clusters", "dendrogram", "adoption", "similarity", "audit"])
def test_a_figure_of_empty_tables_is_not_drawn_and_an_older_copy_is_removed(lexicon: Lexicon, name: str,
                                                                          tmp_path: Path) -> None:
    tables = fake_tables(lexicon)
    drawn = figure_makers(tables, lexicon)[name](tmp_path)
    assert drawn.is_file()
    bare = {key: empty(value) if isinstance(value, pd.DataFrame) and key not in ("grid", "sources", "topics")
            else value for key, value in tables.items()}
    bare["linkage"], bare["labels"] = np.zeros((0, 4)), []
    bare["audit"] = tables["audit"].assign(chars_removed=0)
    assert figure_makers(bare, lexicon)[name](tmp_path) is None
    assert not drawn.exists()


def test_date_axes_are_labelled_with_years_or_months_never_offsets() -> None:
    positions, labels = figures.date_ticks(2014.9, 2021.6)
    assert labels == ["2015", "2016", "2017", "2018", "2019", "2020", "2021"]
    assert positions[0] == 2015.0
    positions, labels = figures.date_ticks(2021 + 1.5 / 12, 2021 + 9.5 / 12)
    assert labels == ["2021-03", "2021-04", "2021-05", "2021-06", "2021-07", "2021-08", "2021-09", "2021-10"]
    assert positions[0] == pytest.approx(2021 + 2 / 12)
    _, labels = figures.date_ticks(2020.9, 2022.6)
    assert labels == ["2021-01", "2021-04", "2021-07", "2021-10", "2022-01", "2022-04", "2022-07"]
    _, labels = figures.date_ticks(1990.0, 2021.0)
    assert labels[0] == "1990" and all(int(b) - int(a) == 5 for a, b in zip(labels, labels[1:], strict=False))


def test_similarity_of_one_year_is_drawn_on_a_month_axis(tmp_path: Path) -> None:
    similarity = pd.DataFrame({"province": ["浙江", "上海", "北京"], "date": ["2021-03", "2021-06", ""],
                               "similarity": [0.2, 0.3, 0.1], "n_chars": [100, 100, 100]})
    figure = figures.new_figure(3)
    ax = figure.add_subplot()
    figures.date_axis(ax.xaxis, 2021.1, 2021.45)
    assert [label.get_text() for label in ax.get_xticklabels()] == ["2021-03", "2021-04", "2021-05", "2021-06"]
    assert ax.xaxis.get_offset_text().get_text() == ""
    assert figures.similarity_plot(similarity, pd.DataFrame(columns=["province", "cluster"]),
                                   tmp_path / "similarity.png").stat().st_size > 10_000
    undated = similarity.assign(date="")
    assert figures.similarity_plot(undated, pd.DataFrame(columns=["province", "cluster"]),
                                   tmp_path / "undated.png").stat().st_size > 10_000


def test_cluster_diagnostics_without_bootstrap_show_the_silhouettes_alone(tmp_path: Path) -> None:
    silhouette = pd.DataFrame({"n_clusters": [2, 3], "silhouette": [0.4, 0.3], "chosen": [True, False]})
    bootstrap = pd.DataFrame({"replicate": [1, 2, 3], "ari": [0.5, 0.7, 0.9]})
    both = imread(figures.cluster_diagnostics_plot(silhouette, bootstrap, tmp_path / "both.png"))
    alone = imread(figures.cluster_diagnostics_plot(silhouette, bootstrap.iloc[:0], tmp_path / "alone.png"))
    assert both.shape == alone.shape
    assert not np.array_equal(both, alone)
    assert figures.cluster_diagnostics_plot(silhouette.iloc[:0], bootstrap, tmp_path / "none.png") is None


def test_a_long_span_of_months_is_thinned_to_every_other_month() -> None:
    _, labels = figures.date_ticks(2021 + 1.5 / 12, 2021 + 10.5 / 12)
    assert labels == ["2021-03", "2021-05", "2021-07", "2021-09", "2021-11"]
