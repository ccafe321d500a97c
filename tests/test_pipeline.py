"""The pipeline runner on a tiny project of three notebooks: order, parameters, stage selection, errors."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from helpers import pipeline
from helpers.config import load_params

PARAMS = """\
build_dir: build
figures_dir: figures
report_dir: report/_output
out_dir: out
greeting: hello
n: 3
"""


def body(stage: str, code: str) -> str:
    """A stage's code: make out_dir, run code, then append the stage's name to out_dir/order.log."""
    log = f'with open(f"{{out_dir}}/order.log", "a", encoding="utf-8") as log:\n    log.write("{stage}\\n")'
    return f"from pathlib import Path\nPath(out_dir).mkdir(exist_ok=True)\n{code}\n{log}"


NOTEBOOKS = {
    "notebooks/first.ipynb": (
        'greeting = "default"\nout_dir = "elsewhere"',
        body("first", 'Path(out_dir, "first.txt").write_text(greeting, encoding="utf-8")'),
    ),
    "notebooks/second.ipynb": (
        'n = 1\nout_dir = "elsewhere"',
        'if n < 0:\n    raise ValueError(f"n must be >= 0, got {n}")\n'
        + body("second", 'Path(out_dir, "second.txt").write_text(str(n), encoding="utf-8")'),
    ),
    "report/report.ipynb": (
        'out_dir = "elsewhere"\nbuild_dir = "elsewhere"',
        body("report", 'stage = Path(build_dir, "report")\n'
                       'staged = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*")\n'
                       '                if p.suffix in (".css", ".png"))\n'
                       'Path(out_dir, "report.txt").write_text(" ".join(staged), encoding="utf-8")'),
    ),
}


def write_notebook(path: Path, parameters: str, code: str) -> None:
    """Write a notebook with a tagged parameters cell and one code cell."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    notebook.cells = [nbformat.v4.new_markdown_cell("# A stage"), cell, nbformat.v4.new_code_cell(code)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny project with a params file, three stages and a figure, made the current pipeline."""
    (tmp_path / "params.yaml").write_text(PARAMS, encoding="utf-8")
    for relative, (parameters, code) in NOTEBOOKS.items():
        write_notebook(tmp_path / relative, parameters, code)
    (tmp_path / "report" / "style.css").write_text("body { margin: 0; }\n", encoding="utf-8")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "fig.png").write_bytes(b"\x89PNG")
    monkeypatch.setattr(pipeline, "STAGES", {"first": "notebooks/first.ipynb",
                                             "second": "notebooks/second.ipynb",
                                             "report": "report/report.ipynb"})
    monkeypatch.setattr(pipeline, "project_root", lambda: tmp_path)
    # The tiny notebooks import no helper module: start their kernels without the warm-up imports.
    monkeypatch.setattr(pipeline, "KERNEL_ARGUMENTS",
                        [arg for arg in pipeline.KERNEL_ARGUMENTS if not arg.startswith("--IPKernelApp.exec_lines")])
    return tmp_path


def read(path: Path) -> str:
    """A file's text."""
    return path.read_text(encoding="utf-8")


def test_stages_of_the_project_in_order() -> None:
    assert list(pipeline.STAGES) == ["clean", "passages", "tfidf", "topics", "clusters", "convergence",
                                     "report"]
    assert pipeline.STAGES["tfidf"] == "notebooks/03_tfidf.ipynb"
    assert pipeline.STAGES["report"] == "report/report.ipynb"


def test_select_stages(project: Path) -> None:
    assert pipeline.select_stages() == ["first", "second", "report"]
    assert pipeline.select_stages(stage="second") == ["second"]
    assert pipeline.select_stages(start="second") == ["second", "report"]


@pytest.mark.slow
def test_run_pipeline_runs_stages_in_order(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written = pipeline.run_pipeline(load_params(project / "params.yaml"), render=False, root=project)

    build = project / "build"
    assert written == [build / "notebooks/first.ipynb", build / "notebooks/second.ipynb",
                       build / "report/report.ipynb"]
    assert all(path.is_file() for path in written)
    assert read(project / "out/order.log") == "first\nsecond\nreport\n"
    assert read(project / "out/first.txt") == "hello"
    assert read(project / "out/second.txt") == "3"
    assert read(project / "out/report.txt") == "figures/fig.png style.css"
    assert sorted(p.name for p in build.rglob("*.ipynb")) == ["first.ipynb", "report.ipynb", "second.ipynb"]
    injected = [cell.source for cell in nbformat.read(written[0], as_version=4).cells
                if "injected-parameters" in cell.metadata.get("tags", [])]
    assert injected == ['# Parameters\ngreeting = "hello"\nout_dir = "out"\n']
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ...")[0].split() for line in lines[:3]] == [
        ["[1/3]", "first", "notebooks/first.ipynb"],
        ["[2/3]", "second", "notebooks/second.ipynb"],
        ["[3/3]", "report", "report/report.ipynb"],
    ]
    assert lines[3].startswith("done: 3 stage(s) in ")


@pytest.mark.slow
def test_override_reaches_the_notebook(project: Path) -> None:
    assert pipeline.main(["--stage", "first", "-p", "greeting=你好", "--no-render"]) == 0
    assert read(project / "out/first.txt") == "你好"
    assert read(project / "out/order.log") == "first\n"


@pytest.mark.slow
def test_from_runs_that_stage_and_the_later_ones(project: Path) -> None:
    assert pipeline.main(["--from", "second", "--no-render"]) == 0
    assert read(project / "out/order.log") == "second\nreport\n"
    assert not (project / "build/notebooks/first.ipynb").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["--stage", "third"], "error: unknown stage 'third'; choose one of: first, second, report"),
    (["--from", "third"], "error: unknown stage 'third'; choose one of: first, second, report"),
    (["-p", "colour=red"], "error: -p colour: unknown parameter; it is neither in "),
    (["-p", "colour"], "error: -p 'colour': write overrides as name=value"),
    (["--stage", "first", "--from", "second"], "error: argument --from: not allowed with argument --stage"),
])
def test_bad_command_exits_2_with_one_line(project: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                           message: str) -> None:
    assert pipeline.main([*argv, "--no-render"]) == 2
    captured = capsys.readouterr()
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith(message)
    assert "Traceback" not in captured.err
    assert not (project / "out").exists()


def test_missing_notebook_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "notebooks/second.ipynb").unlink()
    assert pipeline.main(["--no-render"]) == 2
    assert capsys.readouterr().err == "error: notebooks/second.ipynb: notebook of stage second not found\n"
    assert not (project / "out").exists()


@pytest.mark.slow
def test_failing_cell_exits_1_and_keeps_the_good_copy(project: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert pipeline.main(["--stage", "second", "--no-render"]) == 0
    executed = project / "build/notebooks/second.ipynb"
    good = executed.read_bytes()
    capsys.readouterr()

    assert pipeline.main(["--stage", "second", "-p", "n=-1", "--no-render"]) == 1

    err = capsys.readouterr().err.splitlines()
    failed = project / "build/notebooks/second.failed.ipynb"
    assert err == [
        "error: stage second (notebooks/second.ipynb) failed at cell 3: ValueError: n must be >= 0, got -1",
        f"open {failed} for the full traceback",
    ]
    assert executed.read_bytes() == good
    assert "ValueError" in read(failed)
    assert not list(project.rglob("*.partial.ipynb"))


def test_list_prints_stages_notebooks_and_parameters(project: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert pipeline.main(["--list"]) == 0
    assert [line.split() for line in capsys.readouterr().out.splitlines()] == [
        ["first", "notebooks/first.ipynb", "greeting,", "out_dir"],
        ["second", "notebooks/second.ipynb", "n,", "out_dir"],
        ["report", "report/report.ipynb", "out_dir,", "build_dir"],
    ]
