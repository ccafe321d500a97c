"""Every figure of the report in one house style: CJK font, fixed colours, deterministic PNG files."""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch, Patch, Rectangle
from matplotlib.ticker import MaxNLocator, PercentFormatter
from matplotlib.transforms import Bbox, blended_transform_factory
from scipy.cluster import hierarchy

from helpers.config import ProjectError, load_params, resolve
from helpers.fonts import cjk_font_file
from helpers.io import atomic_write_bytes
from helpers.lexicon import Lexicon, read_lexicon_table

DPI = 200
WIDTH = 6.3  # inches (16 cm): the text width of an A4 page; 1260 pixels at DPI
ROW = 0.19  # inches per heatmap row or bar, enough for 8 pt labels
MAX_SOURCES = 24  # sources drawn one by one in per-source figures; the rest are added up in one column
FONT_SIZE = 9
SMALL = 8
NATIONAL = "全国"
GRID_FILE = "data/lexicon/tile_grid.csv"
INK = "#262626"
MUTED = "#8c8c8c"
ACCENT = "#3b6ea8"
MISSING_FILL = "#f0f0f0"
MISSING_EDGE = "#c4c4c4"
MISSING_INK = "#6e6e6e"
DASHED = (0, (3, 2))
SEQUENTIAL = mcolors.LinearSegmentedColormap.from_list("house", ["#e8f1f8", "#6aa6d1", "#1f4e8c", "#0b2447"])
CLUSTER_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C6D31", "#6B6B6B")
CONCEPT_COLOURS = {
    "一网通办": "#D55E00",
    "一网统管": "#0072B2",
    "一网协同": "#009E73",
    "跨省通办": "#CC79A7",
    "一件事一次办": "#E69F00",
    "最多跑一次": "#56B4E9",
    "放管服": "#8C564B",
    "互联网+政务服务": "#9467BD",
    "互联网+监管": "#BCBD22",
    "一网一门一次": "#17BECF",
    "不见面审批": "#7F3C8D",
    "接诉即办": "#E377C2",
    "好差评": "#3969AC",
    "城市大脑": "#11A579",
    "掌上办": "#F2B701",
}
FALLBACK_COLOURS = ("#4E79A7", "#F28E2B", "#59A14F", "#B07AA1", "#76B7B2", "#EDC948", "#FF9DA7", "#9C755F")
FORM_KINDS = ("canonical", "variant", "damaged")
TAB20 = mpl.colormaps["tab20"].colors
RULE_COLOURS = tuple(mcolors.to_hex(colour) for colour in [*TAB20[0::2], *TAB20[1::2]])


@cache
def cjk_family() -> str:
    """Register the project's CJK font with matplotlib and return its family name."""
    path = cjk_font_file()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def apply_house_style() -> None:
    """Set matplotlib's rcParams to the house style: CJK font for all text, sizes, spines, grid, colours."""
    mpl.rcParams.update({
        "font.family": [cjk_family()],
        "font.size": FONT_SIZE,
        "axes.titlesize": FONT_SIZE,
        "axes.titleweight": "normal",
        "axes.labelsize": FONT_SIZE,
        "axes.labelcolor": INK,
        "axes.edgecolor": MUTED,
        "axes.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.axisbelow": True,
        "axes.prop_cycle": mpl.cycler(color=CLUSTER_COLOURS),
        "axes.unicode_minus": True,
        "grid.color": "#e3e3e3",
        "grid.linewidth": 0.5,
        "xtick.labelsize": SMALL,
        "ytick.labelsize": SMALL,
        "xtick.color": INK,
        "ytick.color": INK,
        "legend.fontsize": SMALL,
        "legend.title_fontsize": SMALL,
        "legend.frameon": False,
        "figure.titlesize": FONT_SIZE + 1,
        "figure.dpi": DPI,
        "figure.facecolor": "white",
        "savefig.dpi": DPI,
        "savefig.facecolor": "white",
        "text.color": INK,
        "svg.hashsalt": "digigov-convergence",
        "pdf.fonttype": 42,
    })


def new_figure(height: float, width: float = WIDTH) -> Figure:
    """Return an empty figure in the house style (constrained layout, Agg canvas)."""
    apply_house_style()
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def discard(path: Path) -> None:
    """Draw nothing: remove the figure an earlier run left at path (the report says in words what is missing)."""
    Path(path).unlink(missing_ok=True)


def save(figure: Figure, path: Path) -> Path:
    """Render a figure as PNG without timestamp or software tag, write it atomically and free the figure."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    figure.clear()
    return atomic_write_bytes(Path(path), buffer.getvalue())


def cluster_colour(cluster: int) -> str:
    """Return the fixed colour of a cluster number (1-based)."""
    return CLUSTER_COLOURS[(int(cluster) - 1) % len(CLUSTER_COLOURS)]


def concept_colour(concept: str) -> str:
    """Return the fixed colour of a concept; unknown concepts get a colour derived from their name."""
    if concept in CONCEPT_COLOURS:
        return CONCEPT_COLOURS[concept]
    digest = int(hashlib.sha256(concept.encode("utf-8")).hexdigest(), 16)
    return FALLBACK_COLOURS[digest % len(FALLBACK_COLOURS)]


def lighten(colour: str, amount: float) -> str:
    """Mix a colour with white; amount 0 keeps it, 1 gives white."""
    rgb = np.array(mcolors.to_rgb(colour))
    return mcolors.to_hex(rgb + (1 - rgb) * amount)


def ink_on(colour: str | tuple[float, ...]) -> str:
    """Return a text colour readable on the given fill."""
    red, green, blue = mcolors.to_rgb(colour)
    return "white" if 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.5 else INK


def wrap_label(text: str, width: int) -> str:
    """Break a label into lines of at most `width` characters, preferring breaks at spaces and '·'."""
    pieces = [
        (word[start:start + width], separator if start + width >= len(word) else "")
        for word, separator in re.findall(r"([^ ·]+)([ ·]?)[ ·]*", text)
        for start in range(0, len(word), width)
    ]
    lines: list[str] = []
    current = ""
    for piece, separator in pieces:
        if current and len(current + piece) > width:
            lines.append(current.rstrip(" ·"))
            current = ""
        current += piece + separator
    return "\n".join([*lines, current.rstrip(" ·")])


@cache
def default_lexicon() -> Lexicon:
    """The project's lexicon, from lexicon_dir in params.yaml."""
    return Lexicon(resolve(load_params().get("lexicon_dir", "data/lexicon")))


def tidy_grid(grid: pd.DataFrame) -> pd.DataFrame:
    """Check a tile grid's columns and return it with integer rows and columns."""
    missing = [column for column in ("province", "row", "col") if column not in grid.columns]
    if missing:
        raise ProjectError(f"{GRID_FILE}: missing column(s) {', '.join(missing)}; use province,row,col")
    return grid.astype({"province": str, "row": int, "col": int})


def read_grid(lexicon: Lexicon) -> pd.DataFrame:
    """Read the tile grid of a lexicon folder with integer rows and columns."""
    return tidy_grid(read_lexicon_table(lexicon.folder / "tile_grid.csv", ["province", "row", "col"]))


def province_order(names: Iterable[str], grid: pd.DataFrame, lexicon: Lexicon) -> list[str]:
    """Order province names: 全国 first, then by region (gazetteer order), north to south, west to east."""
    gazetteer = lexicon.provinces
    regions = list(dict.fromkeys(gazetteer["region"]))
    region_of = dict(zip(gazetteer["province"], gazetteer["region"], strict=True))
    cell = {row.province: (row.row, row.col) for row in tidy_grid(grid).itertuples()}

    def key(name: str) -> tuple:
        region = regions.index(region_of[name]) if name in region_of else len(regions)
        return (name != NATIONAL, region, *cell.get(name, (math.inf, math.inf)), name)

    return sorted(set(names), key=key)


def style_heatmap_axes(ax: Axes) -> None:
    """Remove grid, spines and tick marks from a heatmap's axes."""
    ax.grid(False)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def draw_heatmap(ax: Axes, matrix: pd.DataFrame, fmt: Callable[[float], str], vmax: float | None = None,
                 gamma: float = 1.0) -> None:
    """Draw a matrix with its values written in the cells; zero and missing cells stay blank."""
    values = matrix.to_numpy(dtype=float)
    shown = np.nan_to_num(values) > 0
    norm = mcolors.PowerNorm(gamma, 0, vmax or max(float(np.nanmax(values, initial=0)), 1.0))
    ax.imshow(np.ma.masked_where(~shown, values), cmap=SEQUENTIAL.with_extremes(bad="white"), norm=norm,
              aspect="auto", interpolation="nearest")
    for (row, col), value in np.ndenumerate(values):
        if shown[row, col]:
            ax.text(col, row, fmt(value), ha="center", va="center", fontsize=SMALL,
                    color=ink_on(SEQUENTIAL(norm(value))))
    ax.set_yticks(range(len(matrix.index)), labels=list(matrix.index))
    ax.set_xlim(-0.5, len(matrix.columns) - 0.5)
    ax.set_ylim(len(matrix.index) - 0.5, -0.5)
    style_heatmap_axes(ax)


def mark_regions(ax: Axes, rows: Sequence[str], lexicon: Lexicon) -> None:
    """Draw a line between regions of an ordered province list and name each region right of the axes."""
    region_of = dict(zip(lexicon.provinces["province"], lexicon.provinces["region"], strict=True))
    labels = [region_of.get(name, "") for name in rows]
    transform = blended_transform_factory(ax.transAxes, ax.transData)
    start = 0
    for index in range(1, len(labels) + 1):
        if index == len(labels) or labels[index] != labels[start]:
            if index < len(labels):
                ax.axhline(index - 0.5, color=MUTED, linewidth=0.6)
            if labels[start]:
                ax.text(1.01, (start + index - 1) / 2, labels[start], transform=transform, va="center",
                        fontsize=SMALL, color=MUTED)
            start = index


def grey_absent_labels(ax: Axes, present: set[str]) -> None:
    """Colour the y tick labels of provinces without data grey."""
    for label in ax.get_yticklabels():
        if label.get_text() not in present:
            label.set_color(MUTED)


def fold_columns(matrix: pd.DataFrame, limit: int = MAX_SOURCES) -> pd.DataFrame:
    """Keep the limit - 1 columns with the largest sums (in their order) and add the rest up in one column."""
    if matrix.shape[1] <= limit:
        return matrix
    totals = matrix.sum().sort_values(ascending=False, kind="stable")
    kept = [column for column in matrix.columns if column in set(totals.index[: limit - 1])]
    rest = [column for column in matrix.columns if column not in set(kept)]
    return matrix[kept].assign(**{f"{len(rest)} others": matrix[rest].sum(axis=1)})


def coverage_heatmap(passages: pd.DataFrame, sources: pd.DataFrame, grid: pd.DataFrame, path: Path,
                     lexicon: Lexicon | None = None) -> Path | None:
    """Heatmap of passages per province and source; every mainland province has a row, 全国 on top.

    Not drawn (None) when there are no passages.
    """
    if passages.empty:
        return discard(path)
    lexicon = lexicon or default_lexicon()
    place = passages["province"].where(passages["level"] != "national", NATIONAL)
    counts = pd.crosstab(place, passages["source_id"])
    columns = sorted(set(sources["source_id"]) | set(passages["source_id"]))
    rows = province_order([NATIONAL, *lexicon.mainland, *counts.index], grid, lexicon)
    matrix = fold_columns(counts.reindex(index=rows, columns=columns, fill_value=0))
    figure = new_figure(0.9 + ROW * len(rows))
    ax = figure.add_subplot()
    draw_heatmap(ax, matrix, lambda value: f"{value:.0f}", gamma=0.5)
    ax.set_xticks(range(matrix.shape[1]), labels=list(matrix.columns),
                  rotation=0 if matrix.shape[1] < 12 else 90)
    ax.xaxis.set_ticks_position("top")
    ax.set_xlabel("source (passages per province)")
    ax.xaxis.set_label_position("top")
    mark_regions(ax, rows, lexicon)
    grey_absent_labels(ax, set(counts.index))
    return save(figure, path)


def concept_order(concept_mentions: pd.DataFrame) -> list[str]:
    """Order concepts by the number of provinces mentioning them, then by mentions, then by name."""
    table = concept_mentions.groupby("concept").agg(provinces=("province", "nunique"),
                                                    mentions=("count", "sum")).reset_index()
    table = table.sort_values(["provinces", "mentions", "concept"], ascending=[False, False, True])
    return table["concept"].tolist()


def concept_heatmap(concept_mentions: pd.DataFrame, path: Path, concepts: Sequence[str] | None = None,
                    grid: pd.DataFrame | None = None, lexicon: Lexicon | None = None) -> Path | None:
    """Heatmap of concept mentions per province (全国 on top, every mainland province a row); None if none."""
    if concept_mentions.empty:
        return discard(path)
    lexicon = lexicon or default_lexicon()
    grid = read_grid(lexicon) if grid is None else grid
    concepts = list(concepts) if concepts is not None else concept_order(concept_mentions)
    place = concept_mentions["province"].where(concept_mentions["level"] != "national", NATIONAL)
    counts = concept_mentions.assign(place=place).pivot_table(
        index="place", columns="concept", values="count", aggfunc="sum", fill_value=0)
    rows = province_order([NATIONAL, *lexicon.mainland, *counts.index], grid, lexicon)
    matrix = counts.reindex(index=rows, columns=concepts, fill_value=0)
    figure = new_figure(1.6 + ROW * len(rows))
    ax = figure.add_subplot()
    draw_heatmap(ax, matrix, lambda value: f"{value:.0f}", gamma=0.5)
    ax.set_xticks(range(len(concepts)), labels=concepts, rotation=50, ha="left", rotation_mode="anchor")
    ax.xaxis.set_ticks_position("top")
    mark_regions(ax, rows, lexicon)
    grey_absent_labels(ax, set(counts.index))
    return save(figure, path)


def form_kind_style(concept: str, kind: str) -> dict[str, object]:
    """Bar style of a form kind: concept colour if canonical, lighter if a variant, hatched if damaged."""
    colour = concept_colour(concept)
    fill = {"canonical": colour, "variant": lighten(colour, 0.5)}.get(kind, lighten(colour, 0.75))
    hatch = "////" if kind == "damaged" else None
    return {"color": fill, "edgecolor": colour, "linewidth": 0.5, "hatch": hatch}


def focus_concept_bars(concept_mentions: pd.DataFrame, focus: Sequence[str], path: Path) -> Path | None:
    """Mentions of each focus concept per province, bars split by form kind, largest first.

    Not drawn (None) when no province mentions any focus concept.
    """
    provincial = concept_mentions[concept_mentions["level"] != "national"]
    if not provincial["concept"].isin(list(focus)).any():
        return discard(path)
    tables = {}
    for concept in focus:
        table = provincial[provincial["concept"] == concept].pivot_table(
            index="province", columns="form_kind", values="count", aggfunc="sum", fill_value=0,
        ).reindex(columns=FORM_KINDS, fill_value=0)
        tables[concept] = (table.assign(total=table.sum(axis=1)).reset_index()
                           .sort_values(["total", "province"], ascending=[False, True]).set_index("province"))
    longest = max([len(table) for table in tables.values()] + [3])
    figure = new_figure(1.3 + ROW * longest)
    axes = figure.subplots(1, max(len(focus), 1), squeeze=False)[0]
    for ax, (concept, table) in zip(axes, tables.items(), strict=False):
        ax.set_title(concept, color=concept_colour(concept), loc="left")
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("mentions")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        ax.set_ylim(longest - 0.5, -0.5)
        if table.empty:
            ax.text(0.5, 0.5, "no provincial mentions", ha="center", va="center", transform=ax.transAxes)
            ax.set_yticks([])
            continue
        left = np.zeros(len(table))
        for kind in FORM_KINDS:
            widths = table[kind].to_numpy(dtype=float)
            if widths.any():
                ax.barh(range(len(table)), widths, left=left, height=0.7, label=f"{concept}: {kind} form",
                        **form_kind_style(concept, kind))
            left += widths
        for position, total in enumerate(left):
            ax.text(total, position, f" {total:.0f}", va="center", fontsize=SMALL)
        ax.set_yticks(range(len(table)), labels=list(table.index))
        ax.set_xlim(0, left.max() * 1.15)
    handles = [handle for ax in axes for handle in ax.get_legend_handles_labels()[0]]
    if handles:
        figure.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3))
    return save(figure, path)


def bar_panels(frames: Mapping[str, pd.DataFrame], path: Path, label: str, value: str,
               colours: Mapping[str, str], title_width: int, ncols: int = 3) -> Path | None:
    """Small multiples of horizontal bars, one panel per non-empty frame, first row of each frame on top.

    Not drawn (None) when every frame is empty.
    """
    frames = {title: frame for title, frame in frames.items() if len(frame)}
    if not frames:
        return discard(path)
    nrows = max(math.ceil(len(frames) / ncols), 1)
    bars = max([len(frame) for frame in frames.values()] + [1])
    figure = new_figure(nrows * (0.55 + 0.17 * bars) + 0.1)
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (title, frame) in zip(axes, frames.items(), strict=False):
        ax.barh(range(len(frame)), frame[value], height=0.7, color=colours[title])
        ax.set_yticks(range(len(frame)), labels=list(frame[label]))
        ax.set_ylim(bars - 0.5, -0.5)
        ax.set_title(wrap_label(title, title_width), loc="left")
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3))
    for ax in axes[len(frames):]:
        ax.set_visible(False)
    return save(figure, path)


def distinctive_terms_grid(distinctive_terms: pd.DataFrame, path: Path,
                           provinces: Sequence[str] | None = None, n_terms: int = 6,
                           clusters: pd.DataFrame | None = None, max_panels: int = 12,
                           lexicon: Lexicon | None = None) -> Path | None:
    """Small multiples of each province's most distinctive terms (TF-IDF score), one panel per province."""
    if provinces is None:
        lexicon = lexicon or default_lexicon()
        provinces = province_order(distinctive_terms["province"], read_grid(lexicon), lexicon)[:max_panels]
    cluster_of = {} if clusters is None else clusters_by_province(clusters)
    ordered = distinctive_terms.sort_values(["province", "rank"])
    frames = {name: ordered[ordered["province"] == name].head(n_terms) for name in provinces}
    colours = {name: cluster_colour(cluster_of[name]) if name in cluster_of else ACCENT for name in provinces}
    return bar_panels(frames, path, "term", "score", colours, title_width=20)


def topic_terms_grid(topic_terms: pd.DataFrame, topics: pd.DataFrame, path: Path,
                     n_words: int | None = None) -> Path | None:
    """One panel per topic with its top words and their weights, titled by the topic label."""
    labels = dict(zip(topics["topic"], topics["label"], strict=True))
    ordered = topic_terms.sort_values(["topic", "rank"])
    frames = {
        labels.get(topic, f"T{topic}"): frame.head(n_words or len(frame))
        for topic, frame in ordered.groupby("topic", sort=True)
    }
    return bar_panels(frames, path, "term", "weight", dict.fromkeys(frames, ACCENT), title_width=10)


def province_topic_heatmap(province_topics: pd.DataFrame, topics: pd.DataFrame, clusters: pd.DataFrame,
                           path: Path, grid: pd.DataFrame | None = None,
                           lexicon: Lexicon | None = None) -> Path | None:
    """Topic shares per province in percent, grouped by cluster beside a colour strip; 全国 on top.

    Not drawn (None) without topic shares; without clusters the provinces are not grouped.
    """
    if province_topics.empty:
        return discard(path)
    lexicon = lexicon or default_lexicon()
    grid = read_grid(lexicon) if grid is None else grid
    cluster_of = clusters_by_province(clusters)
    geographic = province_order(province_topics["province"], grid, lexicon)
    rows = sorted(geographic, key=lambda name: (name != NATIONAL, cluster_of.get(name, math.inf),
                                                geographic.index(name)))
    topic_ids = sorted(topics["topic"])
    labels = dict(zip(topics["topic"], topics["label"], strict=True))
    shares = province_topics.pivot_table(index="province", columns="topic", values="share", aggfunc="sum",
                                         fill_value=0)
    matrix = shares.reindex(index=rows, columns=topic_ids, fill_value=0) * 100
    figure = new_figure(1.5 + ROW * len(rows))
    ax = figure.add_subplot()
    draw_heatmap(ax, matrix, lambda value: f"{value:.0f}", vmax=100)
    for index, name in enumerate(rows):
        if name in cluster_of:
            ax.add_patch(Rectangle((-1.0, index - 0.5), 0.4, 1.0, color=cluster_colour(cluster_of[name]),
                                   linewidth=0))
    ax.set_xlim(-1.05, len(topic_ids) - 0.5)
    ax.set_xticks(range(len(topic_ids)), labels=[wrap_label(str(labels[topic]), 6) for topic in topic_ids],
                  linespacing=1.35)
    ax.set_xlabel("share of the province's text (%)")
    for index in range(1, len(rows)):
        if cluster_of.get(rows[index]) != cluster_of.get(rows[index - 1]):
            ax.axhline(index - 0.5, color="white", linewidth=2)
    add_cluster_legend(figure, cluster_of.values())
    return save(figure, path)


def add_cluster_legend(figure: Figure, clusters: Iterable[int], style: str = "patch") -> None:
    """Add a legend of cluster colours below the figure, drawn as patches, lines or points."""
    handles: list[Patch | Line2D] = []
    for cluster in sorted(set(clusters)):
        colour, label = cluster_colour(cluster), f"cluster {cluster}"
        if style == "patch":
            handles.append(Patch(facecolor=colour, label=label))
        else:
            point = style == "point"
            handles.append(Line2D([], [], color=colour, label=label, linewidth=2, marker="o" if point else "",
                                  linestyle="" if point else "-"))
    if handles:
        figure.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6))


def clusters_by_province(clusters: pd.DataFrame) -> dict[str, int]:
    """Return province -> cluster number from a clusters table."""
    return dict(zip(clusters["province"], clusters["cluster"].astype(int), strict=True))


def tile_fills(data: Mapping[str, object], categorical: bool, colours: Mapping[object, str] | None,
               labels: Mapping[object, str]) -> tuple[dict[str, str], list[Patch], mcolors.Normalize | None]:
    """Colour each province by its value: a category palette with legend entries, or a colour scale."""
    if categorical:
        categories = sorted(set(data.values()), key=str)
        palette = {
            value: cluster_colour(value) if isinstance(value, (int, np.integer))
            else CLUSTER_COLOURS[index % len(CLUSTER_COLOURS)]
            for index, value in enumerate(categories)
        }
        palette.update(colours or {})
        handles = [Patch(facecolor=palette[value], label=labels.get(value, str(value)))
                   for value in categories]
        return {name: palette[value] for name, value in data.items()}, handles, None
    numbers = {name: float(value) for name, value in data.items()}
    lowest, highest = min(numbers.values(), default=0.0), max(numbers.values(), default=1.0)
    norm = mcolors.Normalize(lowest, highest if highest > lowest else lowest + 1)
    return {name: mcolors.to_hex(SEQUENTIAL(norm(value))) for name, value in numbers.items()}, [], norm


def tile_map(values: Mapping[str, object] | pd.Series, grid: pd.DataFrame, path: Path, title: str,
             categorical: bool = True, colours: Mapping[object, str] | None = None,
             missing_label: str = "no text", flagged: Iterable[str] = (),
             flagged_label: str = "thinly measured", legend_title: str = "cluster",
             category_labels: Mapping[object, str] | None = None) -> Path | None:
    """Tile-grid map of China: a rounded tile per province coloured by its value, absent provinces hatched.

    Not drawn (None) when no province has a value.
    """
    grid = tidy_grid(grid)
    data = {str(name): value for name, value in values.items() if not pd.isna(value) and name != NATIONAL}
    if not data:
        return discard(path)
    unknown = sorted(set(data) - set(grid["province"]))
    if unknown:
        raise ProjectError(f"{GRID_FILE}: no tile for {', '.join(unknown)}; add a row for each")
    labels = category_labels or {value: f"{legend_title} {value}".strip() for value in set(data.values())}
    fill_of, handles, norm = tile_fills(data, categorical, colours, labels)
    flagged = set(flagged)
    figure = new_figure(WIDTH * 0.8)
    ax = figure.add_subplot()
    for row in grid.sort_values(["row", "col"]).itertuples():
        fill = fill_of.get(row.province)
        tile = FancyBboxPatch((row.col - 0.44, row.row - 0.44), 0.88, 0.88,
                              boxstyle="round,pad=0,rounding_size=0.14", linewidth=0.8,
                              facecolor=fill or MISSING_FILL, edgecolor="white" if fill else MISSING_EDGE,
                              hatch=None if fill else "/////")
        if row.province in flagged:
            tile.set(edgecolor=INK, linestyle=DASHED, linewidth=1.3)
        ax.add_patch(tile)
        ax.text(row.col, row.row, row.province, ha="center", va="center", fontsize=FONT_SIZE,
                color=ink_on(fill) if fill else MISSING_INK)
    if set(grid["province"]) - set(fill_of):
        handles.append(Patch(facecolor=MISSING_FILL, edgecolor=MISSING_EDGE, hatch="/////",
                             label=missing_label))
    if flagged & set(grid["province"]):
        handles.append(Patch(facecolor="white", edgecolor=INK, linestyle=DASHED, label=flagged_label))
    if norm is not None:
        colourbar = figure.colorbar(ScalarMappable(norm=norm, cmap=SEQUENTIAL), ax=ax, shrink=0.5, aspect=25)
        colourbar.set_label(legend_title)
        colourbar.outline.set_visible(False)
    ax.set_xlim(grid["col"].min() - 0.55, grid["col"].max() + 0.55)
    ax.set_ylim(grid["row"].max() + 0.55, grid["row"].min() - 0.55)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title, loc="left")
    if handles:
        figure.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), handlelength=1.6,
                      handleheight=1.2)
    return save(figure, path)


def dendrogram(linkage: np.ndarray, labels: Sequence[str], clusters: pd.DataFrame, path: Path) -> Path | None:
    """Dendrogram of the province clustering; leaf labels and single-cluster branches in cluster colours.

    Not drawn (None) without a linkage (fewer than two clustered provinces).
    """
    labels = list(labels)
    if len(labels) < 2 or len(np.asarray(linkage)) == 0:
        return discard(path)
    cluster_of = clusters_by_province(clusters)
    members: list[set[int]] = [{cluster_of.get(name, 0)} for name in labels]
    for left, right, *_ in np.asarray(linkage):
        members.append(members[int(left)] | members[int(right)])

    def link_colour(node: int) -> str:
        found = members[node]
        return cluster_colour(next(iter(found))) if len(found) == 1 and 0 not in found else MUTED

    figure = new_figure(0.8 + ROW * len(labels))
    ax = figure.add_subplot()
    hierarchy.dendrogram(np.asarray(linkage), labels=labels, orientation="left", ax=ax,
                         link_color_func=link_colour, leaf_font_size=SMALL)
    for label in ax.get_yticklabels():
        name = label.get_text()
        label.set_color(cluster_colour(cluster_of[name]) if name in cluster_of else INK)
    ax.grid(axis="y", visible=False)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_xlabel("distance")
    add_cluster_legend(figure, cluster_of.values(), "line")
    return save(figure, path)


MONTH_STEPS = (1, 2, 3, 4, 6, 12, 24, 60, 120)  # tick spacings of a date axis, in months
MAX_DATE_TICKS = 8


def date_ticks(start: float, end: float) -> tuple[list[float], list[str]]:
    """Ticks of a date axis between two decimal years: month or year starts, labelled YYYY-MM or YYYY."""
    first, last = math.ceil(round(start * 12, 6)), math.floor(round(end * 12, 6))
    step = next((step for step in MONTH_STEPS if (last - first) // step + 1 <= MAX_DATE_TICKS), MONTH_STEPS[-1])
    if step >= 12:
        first = math.ceil(first / 12) * 12
    months = range(first - first % step if step < 12 else first, last + 1, step)
    months = [month for month in months if month >= first]
    labels = [f"{month // 12}" if step >= 12 else f"{month // 12}-{month % 12 + 1:02d}" for month in months]
    return [month / 12 for month in months], labels


def date_axis(axis: Axis, start: float, end: float) -> None:
    """Limit an axis to two decimal years and label it with dates (YYYY or YYYY-MM), never with offsets."""
    positions, labels = date_ticks(start, end)
    if axis.axis_name == "x":
        axis.axes.set_xlim(start, end)
    else:
        axis.axes.set_ylim(start, end)
    axis.set_ticks(positions, labels=labels)


def year_fraction(date: str) -> float:
    """Turn 'YYYY-MM' or 'YYYY' into a decimal year at the start of the month or year; '' gives NaN."""
    match = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?(?:-\d{1,2})?", str(date).strip())
    if not match:
        return math.nan
    return int(match.group(1)) + (int(match.group(2) or 1) - 1) / 12


def adoption_curve_plot(adoption_curve: pd.DataFrame, national_first: Mapping[str, str] | pd.Series,
                        path: Path, concepts: Sequence[str] | None = None) -> Path | None:
    """Step curves of the cumulative share of provinces using each concept, dashed at first national use.

    Not drawn (None) when the curve has no dated point.
    """
    national = {str(concept): str(date) for concept, date in national_first.items() if str(date)}
    concepts = list(concepts) if concepts is not None else list(dict.fromkeys(adoption_curve["concept"]))
    curve = adoption_curve.assign(x=adoption_curve["date"].map(year_fraction)).dropna(subset=["x"])
    if curve.empty:
        return discard(path)
    known = [*curve["x"], *(year_fraction(national[concept]) for concept in concepts if concept in national)]
    start, end = (min(known) - 0.25, max(known) + 0.5) if known else (0.0, 1.0)
    figure = new_figure(3.6)
    ax = figure.add_subplot()
    for concept in concepts:
        colour = concept_colour(concept)
        steps = curve[curve["concept"] == concept].sort_values("x")
        if not steps.empty:
            last = steps.iloc[-1]
            xs, ys = [steps["x"].iloc[0], *steps["x"], end], [0.0, *steps["share"], last["share"]]
            ax.step(xs, ys, where="post", color=colour, linewidth=1.8,
                    label=f"{concept}: {int(last['n_provinces'])} "
                          f"{'province' if int(last['n_provinces']) == 1 else 'provinces'} by {last['date']}")
        if concept in national:
            ax.axvline(year_fraction(national[concept]), color=colour, linestyle=(0, (4, 2)), linewidth=1.1,
                       label=f"{concept}: first national use {national[concept]}")
    date_axis(ax.xaxis, start, end)
    ax.set_ylim(0, 1.04)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("date of the plan or policy")
    ax.set_ylabel("share of provinces")
    figure.legend(loc="outside lower center", ncols=2)
    return save(figure, path)


LABEL_DIRECTIONS = ((1, 0, "left", "center"), (-1, 0, "right", "center"), (0, 1, "center", "bottom"),
                    (0, -1, "center", "top"), (1, 1, "left", "bottom"), (-1, 1, "right", "bottom"),
                    (1, -1, "left", "top"), (-1, -1, "right", "top"))
LEADER_FROM = 8.0  # points: labels placed further from their point than the first ring get a leader line


def label_offsets() -> list[tuple[float, float, str, str]]:
    """Offsets (points) and alignments tried for a point's label, nearest first: rings, then side columns."""
    rings = [(dx * distance / math.hypot(dx, dy), dy * distance / math.hypot(dx, dy), ha, va)
             for distance in (6.0, 12.0) for dx, dy, ha, va in LABEL_DIRECTIONS]
    sides = [(sign * dx, float(dy), "left" if sign > 0 else "right", "center")
             for dx in (16.0, 30.0, 46.0) for dy in range(-60, 61, 6) for sign in (1, -1)]
    return sorted(rings + sides, key=lambda offset: math.hypot(offset[0], offset[1]))


def overlap(box: Bbox, others: Iterable[Bbox]) -> float:
    """Total area of a box that overlaps other boxes."""
    total = 0.0
    for other in others:
        width = min(box.x1, other.x1) - max(box.x0, other.x0)
        height = min(box.y1, other.y1) - max(box.y0, other.y0)
        if width > 0 and height > 0:
            total += width * height
    return total


def box_distance(box: Bbox, point: Sequence[float]) -> float:
    """Distance from a point to the nearest edge of a box (0 inside it)."""
    return math.hypot(max(box.x0 - point[0], 0.0, point[0] - box.x1), max(box.y0 - point[1], 0.0, point[1] - box.y1))


def label_box(anchor: Sequence[float], size: tuple[float, float], offset: tuple[float, float],
              ha: str, va: str) -> Bbox:
    """Return the display box of a label of a given size placed at an offset from an anchor."""
    x = anchor[0] + offset[0] - {"left": 0.0, "center": 0.5, "right": 1.0}[ha] * size[0]
    y = anchor[1] + offset[1] - {"bottom": 0.0, "center": 0.5, "top": 1.0}[va] * size[1]
    return Bbox.from_bounds(x, y, size[0], size[1])


def place_labels(points: Sequence[tuple[Axes, float, float, str]], marker_radius: float) -> None:
    """Label points (axes, x, y, text) without overlap, nearer to their own point than to others, close by."""
    if not points:
        return
    figure = points[0][0].figure
    figure.draw_without_rendering()
    renderer = figure.canvas.get_renderer()
    scale = figure.dpi / 72
    radius = marker_radius * scale
    anchors = [tuple(ax.transData.transform((x, y))) for ax, x, y, _ in points]
    placed = [Bbox.from_bounds(x - radius, y - radius, 2 * radius, 2 * radius) for x, y in anchors]
    offsets = label_offsets()

    def crowding(anchor: tuple[float, float]) -> int:
        return sum(math.hypot(anchor[0] - x, anchor[1] - y) < 40 * scale for x, y in anchors)

    for (ax, x, y, text), anchor in sorted(zip(points, anchors, strict=True),
                                           key=lambda item: (-crowding(item[1]), item[1])):
        probe = ax.text(0, 0, text, fontsize=SMALL)
        size = (probe.get_window_extent(renderer).width, probe.get_window_extent(renderer).height)
        probe.remove()
        frame = ax.get_window_extent(renderer)
        scored = []
        for rank, (dx, dy, ha, va) in enumerate(offsets):
            box = label_box(anchor, size, (dx * scale, dy * scale), ha, va)
            clash = overlap(box, placed) + 20 * (box.width * box.height - overlap(box, [frame]))
            own = box_distance(box, anchor)
            closer = sum(box_distance(box, other) < own for other in anchors if other != anchor)
            scored.append((clash, closer, rank, box, (dx, dy, ha, va)))
            if clash == 0 and closer == 0:
                break
        _, _, _, box, (dx, dy, ha, va) = min(scored, key=lambda item: item[:3])
        leader = {"arrowstyle": "-", "color": MUTED, "linewidth": 0.5, "shrinkA": 0, "shrinkB": radius / scale}
        annotation = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                                 fontsize=SMALL, arrowprops=leader if math.hypot(dx, dy) > LEADER_FROM else None)
        annotation.set_in_layout(False)
        placed.append(box)


def dodge(ax: Axes, xs: Sequence[float], ys: Sequence[float], diameter: float) -> np.ndarray:
    """Shift points sideways, beeswarm-like, so that markers `diameter` pixels wide do not overlap."""
    shown = ax.transData.transform(np.column_stack([xs, ys]))
    placed: list[tuple[float, float]] = []
    for index in np.lexsort((shown[:, 1], shown[:, 0])):
        x, y = shown[index]
        for step in range(len(shown)):
            candidates = [x + step * diameter, x - step * diameter] if step else [x]
            free = [c for c in candidates if all(math.hypot(c - px, y - py) >= diameter for px, py in placed)]
            if free:
                shown[index, 0] = free[0]
                break
        placed.append((shown[index, 0], y))
    return ax.transData.inverted().transform(shown)[:, 0]


def similarity_plot(similarity: pd.DataFrame, clusters: pd.DataFrame, path: Path,
                    marker_size: float = 18) -> Path | None:
    """Provinces' cosine similarity to the national passages by plan date, labelled, coloured by cluster.

    Undated provinces stand in a strip of their own; not drawn (None) when there is no similarity.
    """
    if similarity.empty:
        return discard(path)
    cluster_of = clusters_by_province(clusters)
    table = similarity.assign(x=similarity["date"].map(year_fraction)).sort_values(["province"])
    dated = table[table["x"].notna()]
    undated = table[table["x"].isna()].sort_values(["similarity", "province"])
    undated = undated.assign(x=np.arange(len(undated), dtype=float))
    figure = new_figure(4.2)
    if undated.empty:
        ax, strip = figure.add_subplot(), None
    elif dated.empty:
        ax, strip = None, figure.add_subplot()
    else:
        ax, strip = figure.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [5, 1.3]})
    values = table["similarity"].astype(float)
    low, high = values.min(), values.max()
    pad = max(high - low, 0.05) * 0.12
    (ax or strip).set_ylim(low - pad, high + pad)
    (ax or strip).set_ylabel("cosine similarity to national passages")
    if ax is not None:
        span = max(dated["x"].max() - dated["x"].min(), 1.0)
        date_axis(ax.xaxis, dated["x"].min() - 0.08 * span, dated["x"].max() + 0.08 * span)
        ax.set_xlabel("date of the earliest dated passage")
    if strip is not None:
        strip.set_xlim(-0.8, len(undated) - 0.2)
        strip.set_xticks([])
        strip.set_xlabel("undated")
        strip.tick_params(labelleft=ax is None)
        strip.grid(axis="x", visible=False)
    add_cluster_legend(figure, cluster_of.values(), "point")
    figure.draw_without_rendering()
    diameter = (math.sqrt(marker_size) + 1) * figure.dpi / 72
    points: list[tuple[Axes, float, float, str]] = []
    for axis, frame in ((ax, dated), (strip, undated)):
        if axis is None or frame.empty:
            continue
        names, ys = frame["province"].tolist(), frame["similarity"].astype(float).tolist()
        xs = dodge(axis, frame["x"].tolist(), ys, diameter)
        colours = [cluster_colour(cluster_of[name]) if name in cluster_of else MUTED for name in names]
        axis.scatter(xs, ys, c=colours, s=marker_size, edgecolors="white", linewidths=0.5, zorder=3)
        points += [(axis, float(x), y, name) for x, y, name in zip(xs, ys, names, strict=True)]
    place_labels(points, marker_radius=math.sqrt(marker_size) / 2)
    return save(figure, path)


def cleaning_audit_plot(audit: pd.DataFrame, path: Path) -> Path | None:
    """Characters removed per cleaning rule for each source, as horizontal stacked bars; None if none was."""
    if not audit["chars_removed"].astype(float).gt(0).any():
        return discard(path)
    table = fold_columns(audit.pivot_table(index="rule", columns="source_id", values="chars_removed", aggfunc="sum",
                                           fill_value=0)).T
    rules = sorted(table.columns, key=lambda rule: (-table[rule].sum(), rule))
    colour_of = {rule: RULE_COLOURS[index % len(RULE_COLOURS)]
                 for index, rule in enumerate(sorted(table.columns))}
    figure = new_figure(0.9 + 0.32 * len(table) + 0.2 * math.ceil(len(rules) / 3))
    ax = figure.add_subplot()
    left = np.zeros(len(table))
    for rule in rules:
        widths = table[rule].to_numpy(dtype=float)
        ax.barh(range(len(table)), widths, left=left, height=0.65, color=colour_of[rule], label=rule)
        left += widths
    for position, total in enumerate(left):
        ax.text(total, position, f" {total:,.0f}", va="center", fontsize=SMALL)
    ax.set_yticks(range(len(table)), labels=list(table.index))
    ax.set_ylim(len(table) - 0.5, -0.5)
    ax.set_xlim(0, max(float(left.max(initial=0)), 1.0) * 1.1)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("characters removed")
    ax.set_ylabel("source")
    figure.legend(loc="outside lower center", ncols=3)
    return save(figure, path)


def keyness_grid(keyness: pd.DataFrame, path: Path, groups: Sequence[object], n_terms: int = 6,
                 colours: Mapping[object, str] | None = None,
                 titles: Mapping[object, str] | None = None) -> Path | None:
    """Small multiples of each group's key terms by log-likelihood (G2), one panel per group."""
    ordered = keyness.sort_values(["group", "rank"])
    frames = {(titles or {}).get(group, str(group)): ordered[ordered["group"].astype(str) == str(group)].head(n_terms)
              for group in groups}
    colour_of = {(titles or {}).get(group, str(group)): (colours or {}).get(group, ACCENT) for group in groups}
    return bar_panels(frames, path, "term", "g2", colour_of, title_width=20)


def mark_chosen(ax: Axes, chosen: float) -> None:
    """Draw a dashed vertical line at the chosen value of a model-selection curve."""
    ax.axvline(chosen, color=MUTED, linestyle=DASHED, linewidth=0.9, zorder=1)


def topic_selection_plot(selection: pd.DataFrame, path: Path) -> Path | None:
    """Coherence, exclusivity, stability and their combined score against the number of topics; None if none."""
    if selection.empty:
        return discard(path)
    table = selection.sort_values("n_topics")
    chosen = table.loc[table["chosen"].astype(str) == "True", "n_topics"]
    panels = [("coherence", "NPMI coherence"), ("exclusivity", "exclusivity"),
              ("stability", "stability"), ("score", "combined score")]
    figure = new_figure(3.6)
    axes = figure.subplots(1, len(panels), sharex=True)
    for ax, (column, title) in zip(axes, panels, strict=True):
        ax.plot(table["n_topics"], table[column], color=ACCENT, marker="o", markersize=3.5, linewidth=1.2)
        if not chosen.empty:
            mark_chosen(ax, float(chosen.iloc[0]))
        ax.set_title(wrap_label(title, 14), loc="left")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    figure.supxlabel("number of topics (dashed: chosen); stability is the mean matched cosine over random starts",
                     fontsize=SMALL)
    return save(figure, path)


def cluster_diagnostics_plot(silhouette: pd.DataFrame, bootstrap: pd.DataFrame, path: Path) -> Path | None:
    """Mean silhouette against the number of clusters, and the bootstrap distribution of the ARI.

    Without bootstrap resamples only the silhouette is drawn; without silhouettes nothing (None).
    """
    if silhouette.empty:
        return discard(path)
    table = silhouette.sort_values("n_clusters")
    chosen = table.loc[table["chosen"].astype(str) == "True", "n_clusters"]
    figure = new_figure(2.8)
    left, right = figure.subplots(1, 2) if len(bootstrap) else (figure.add_subplot(), None)
    left.plot(table["n_clusters"], table["silhouette"], color=ACCENT, marker="o", markersize=3.5, linewidth=1.2)
    if not chosen.empty:
        mark_chosen(left, float(chosen.iloc[0]))
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("number of clusters (dashed: chosen)")
    left.set_ylabel("mean silhouette")
    if right is None:
        return save(figure, path)
    values = bootstrap["ari"].astype(float)
    right.hist(values, bins=np.linspace(min(values.min(), 0.0), 1.0, 21), color=ACCENT, edgecolor="white",
               linewidth=0.5)
    right.axvline(values.mean(), color=INK, linewidth=1.0)
    right.text(values.mean(), 1.0, f" mean {values.mean():.2f}", transform=right.get_xaxis_transform(),
               va="top", ha="left", fontsize=SMALL)
    right.set_xlabel(f"adjusted Rand index with full-data clusters\n({len(values)} bootstrap resamples)")
    right.set_ylabel("resamples")
    right.grid(axis="x", visible=False)
    return save(figure, path)


def projection_plot(projection: pd.DataFrame, clusters: pd.DataFrame, path: Path, marker_size: float = 22,
                    axis_labels: tuple[str, str] = ("first principal component", "second principal component"),
                    ) -> Path | None:
    """The provinces' profiles in two dimensions, labelled and coloured by cluster; thin ones hollow.

    Not drawn (None) without a projection.
    """
    if projection.empty:
        return discard(path)
    cluster_of = clusters_by_province(clusters)
    thin = set(clusters.loc[clusters["thin"].astype(str) == "True", "province"])
    table = projection.sort_values("province")
    figure = new_figure(4.4)
    ax = figure.add_subplot()
    for hollow in (False, True):
        rows = table[table["province"].isin(thin) == hollow]
        colours = [cluster_colour(cluster_of[name]) if name in cluster_of else MUTED for name in rows["province"]]
        ax.scatter(rows["x"], rows["y"], s=marker_size, zorder=3, linewidths=1.0 if hollow else 0.5,
                   facecolors="white" if hollow else colours, edgecolors=colours if hollow else "white")
    for column, setter in (("x", ax.set_xlim), ("y", ax.set_ylim)):
        low, high = float(table[column].min()), float(table[column].max())
        pad = max(high - low, 1e-6) * 0.1
        setter(low - pad, high + pad)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    add_cluster_legend(figure, cluster_of.values(), "point")
    place_labels([(ax, float(row.x), float(row.y), row.province) for row in table.itertuples()],
                 marker_radius=math.sqrt(marker_size) / 2)
    return save(figure, path)
