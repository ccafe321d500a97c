"""The pipeline runner on a tiny project of three notebooks: order, parameters, stage selection, errors, stamps."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from helpers import pipeline
from helpers.config import ProjectError, load_params
from helpers.io import write_text

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
    imports = "from pathlib import Path\nfrom helpers.io import write_text"
    return f"{imports}\nPath(out_dir).mkdir(exist_ok=True)\n{code}\n{log}"


NOTEBOOKS = {
    "notebooks/first.ipynb": (
        'greeting = "default"\nout_dir = "elsewhere"',
        body("first", 'write_text(Path(out_dir, "first.txt"), greeting)'),
    ),
    "notebooks/second.ipynb": (
        'n = 1\nout_dir = "elsewhere"',
        'if n < 0:\n    raise ValueError(f"n must be >= 0, got {n}")\n'
        + body("second", 'write_text(Path(out_dir, "second.txt"), str(n))'),
    ),
    "report/report.ipynb": (
        'out_dir = "elsewhere"\nbuild_dir = "elsewhere"',
        body("report", 'stage = Path(build_dir, "report")\n'
                       'staged = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*")\n'
                       '                if p.suffix in (".css", ".png"))\n'
                       'write_text(Path(out_dir, "report.txt"), " ".join(staged))'),
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
    # The tiny notebooks import only helpers.io: start their kernels without the warm-up imports.
    monkeypatch.setattr(pipeline, "KERNEL_ARGUMENTS",
                        [arg for arg in pipeline.KERNEL_ARGUMENTS if not arg.startswith("--IPKernelApp.exec_lines")])
    # Fix what the tiny project does not depend on, so that edits of the real helpers do not rerun its stages.
    monkeypatch.setattr(pipeline, "helpers_source_hash", lambda: "helpers")
    monkeypatch.setattr(pipeline, "environment_hash", lambda: "environment")
    return tmp_path


def read(path: Path) -> str:
    """A file's text."""
    return path.read_text(encoding="utf-8")


def test_stages_of_the_project_in_order() -> None:
    assert list(pipeline.STAGES) == ["clean", "passages", "tfidf", "topics", "clusters", "convergence",
                                     "reuse", "sensitivity", "report"]
    assert pipeline.STAGES["tfidf"] == "notebooks/03_tfidf.ipynb"
    assert pipeline.STAGES["report"] == "report/report.ipynb"


def test_select_stages(project: Path) -> None:
    assert pipeline.select_stages() == ["first", "second", "report"]
    assert pipeline.select_stages(stage="second") == ["second"]
    assert pipeline.select_stages(start="second") == ["second", "report"]
    assert pipeline.select_stages(end="second") == ["first", "second"]
    assert pipeline.select_stages(start="second", end="second") == ["second"]
    assert pipeline.select_stages(start="first", end="report") == ["first", "second", "report"]


@pytest.mark.parametrize(("selection", "message"), [
    ({"end": "third"}, "unknown stage 'third'; choose one of: first, second, report"),
    ({"start": "report", "end": "first"}, "--to first comes before --from report; the stages run in this order: "
                                          "first, second, report"),
    ({"stage": "first", "end": "second"}, "choose either one stage or a range of stages (--from/--to), not both"),
])
def test_select_stages_refuses(project: Path, selection: dict[str, str], message: str) -> None:
    with pytest.raises(ProjectError) as error:
        pipeline.select_stages(**selection)
    assert str(error.value) == message


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
    (["--stage", "first", "--to", "second"], "error: argument --to: not allowed with argument --stage"),
    (["--to", "third"], "error: unknown stage 'third'; choose one of: first, second, report"),
    (["--from", "report", "--to", "second"], "error: --to second comes before --from report; "),
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


ALL = ["first", "second", "report"]


def run(project: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[list[str], list[str]]:
    """Run the command line without rendering; return the stages that ran and those that were up to date."""
    log = project / "out" / "order.log"
    before = len(read(log).splitlines()) if log.exists() else 0
    capsys.readouterr()
    assert pipeline.main([*argv, "--no-render"]) == 0
    lines = capsys.readouterr().out.splitlines()
    ran = read(log).splitlines()[before:] if log.exists() else []
    return ran, [line.split()[1] for line in lines if line.startswith("[") and line.endswith(" ... up to date")]


def snapshot(*folders: Path) -> dict[Path, tuple[int, bytes]]:
    """The modification time and bytes of every file in the folders."""
    return {path: (path.stat().st_mtime_ns, path.read_bytes())
            for folder in folders for path in sorted(folder.rglob("*")) if path.is_file()}


def sha256(data: bytes) -> str:
    """The sha256 of bytes, in hex."""
    return hashlib.sha256(data).hexdigest()


@pytest.mark.slow
def test_second_run_skips_every_stage_and_starts_no_kernel(project: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(project, capsys) == (ALL, [])
    before = snapshot(project / "build", project / "out")

    def no_kernel(self: pipeline.KernelPool) -> None:
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(pipeline.KernelPool, "start", no_kernel)
    assert pipeline.main(["--no-render"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split() for line in lines[:3]] == [
        ["[1/3]", "first", "notebooks/first.ipynb", "...", "up", "to", "date"],
        ["[2/3]", "second", "notebooks/second.ipynb", "...", "up", "to", "date"],
        ["[3/3]", "report", "report/report.ipynb", "...", "up", "to", "date"],
    ]
    assert lines[3].startswith("done: 3 stage(s) in ") and lines[3].endswith(" s (3 up to date)")
    assert snapshot(project / "build", project / "out") == before


@pytest.mark.slow
def test_stamps_record_the_fingerprint_the_executed_notebook_and_the_outputs(project: Path) -> None:
    assert pipeline.main(["--no-render"]) == 0
    stamps = project / "build" / "stamps"
    first = json.loads(read(stamps / "first.json"))
    assert first["executed"] == "build/notebooks/first.ipynb"
    assert first["outputs"] == {"out/first.txt": sha256(b"hello")}
    assert len(first["fingerprint"]) == 64
    report = json.loads(read(stamps / "report.json"))
    assert report["outputs"] == {"build/report/figures/fig.png": sha256(b"\x89PNG"),
                                 "build/report/style.css": sha256(b"body { margin: 0; }\n"),
                                 "out/report.txt": sha256(b"figures/fig.png style.css")}
    assert sorted(path.name for path in stamps.iterdir()) == ["first.json", "report.json", "second.json"]


@pytest.mark.slow
def test_a_changed_parameter_reruns_the_stage_declaring_it_and_those_whose_inputs_changed(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, capsys) == (ALL, [])
    assert run(project, capsys, "-p", "n=5") == (["second", "report"], ["first"])
    assert read(project / "out/second.txt") == "5"
    assert run(project, capsys, "-p", "n=5") == ([], ALL)
    assert run(project, capsys) == (["second", "report"], ["first"])


@pytest.mark.slow
def test_an_edited_notebook_reruns_and_later_stages_follow_only_when_its_outputs_change(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, capsys) == (ALL, [])
    parameters, code = NOTEBOOKS["notebooks/first.ipynb"]
    write_notebook(project / "notebooks/first.ipynb", parameters, f"# same output\n{code}")
    assert run(project, capsys) == (["first"], ["second", "report"])
    write_notebook(project / "notebooks/first.ipynb", parameters, code.replace("greeting)", "greeting.upper())"))
    assert run(project, capsys) == (ALL, [])
    assert read(project / "out/first.txt") == "HELLO"


@pytest.mark.slow
def test_a_missing_or_changed_output_reruns_the_stage_that_wrote_it(project: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, capsys) == (ALL, [])
    (project / "out/second.txt").unlink()
    assert run(project, capsys) == (["second"], ["first", "report"])
    (project / "out/first.txt").write_text("edited", encoding="utf-8")
    assert run(project, capsys) == (["first"], ["second", "report"])
    assert read(project / "out/first.txt") == "hello"
    (project / "build/notebooks/second.ipynb").unlink()
    assert run(project, capsys) == (["second"], ["first", "report"])
    (project / "build/report/figures/fig.png").write_bytes(b"edited")
    assert run(project, capsys) == (["report"], ["first", "second"])
    (project / "figures/fig.png").write_bytes(b"\x89PNG edited")
    assert run(project, capsys) == (["report"], ["first", "second"])
    assert (project / "build/report/figures/fig.png").read_bytes() == b"\x89PNG edited"


@pytest.mark.slow
def test_changed_helper_code_reruns_every_stage(project: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(project, capsys) == (ALL, [])
    monkeypatch.setattr(pipeline, "helpers_source_hash", lambda: "edited helpers")
    assert run(project, capsys) == (ALL, [])
    assert run(project, capsys) == ([], ALL)


@pytest.mark.slow
def test_force_reruns_every_selected_stage(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, capsys) == (ALL, [])
    assert run(project, capsys, "--force") == (ALL, [])
    assert run(project, capsys, "--force", "--stage", "second") == (["second"], [])
    assert run(project, capsys) == ([], ALL)


@pytest.mark.slow
def test_a_failed_stage_leaves_no_stamp_and_runs_next_time(project: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, capsys) == (ALL, [])
    assert pipeline.main(["-p", "n=-1", "--no-render"]) == 1
    stamps = project / "build/stamps"
    assert sorted(path.name for path in stamps.iterdir()) == ["first.json", "report.json"]
    assert run(project, capsys) == (["second"], ["first", "report"])


@pytest.mark.slow
def test_to_runs_the_stages_up_to_that_one(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, capsys, "--to", "second") == (["first", "second"], [])
    assert not (project / "build/report").exists()
    assert run(project, capsys, "--from", "second", "--to", "report") == (["report"], ["second"])


@pytest.mark.slow
def test_render_is_skipped_while_the_report_and_the_rendered_files_are_unchanged(
        project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: list[Path] = []

    def render(executed_report: Path, report_dir: Path) -> list[Path]:
        rendered.append(executed_report)
        return [write_text(report_dir / "report.html", "html"), write_text(report_dir / "report.pdf", "pdf")]

    monkeypatch.setattr(pipeline, "render_outputs", render)
    params = load_params(project / "params.yaml")
    outputs = [project / "report/_output/report.html", project / "report/_output/report.pdf"]
    assert pipeline.run_pipeline(params, root=project)[-2:] == outputs
    assert pipeline.run_pipeline(params, root=project)[-2:] == outputs
    assert len(rendered) == 1
    assert f"render {project / 'build/report/report.ipynb'} ... up to date" in capsys.readouterr().out
    outputs[1].unlink()
    pipeline.run_pipeline(params, root=project)
    assert len(rendered) == 2 and outputs[1].is_file()
    pipeline.run_pipeline(params, root=project, render=False, force=True)
    pipeline.run_pipeline(params, root=project)
    assert len(rendered) == 3
    pipeline.run_pipeline(params, root=project, force=True)
    assert len(rendered) == 4


def test_folder_hash_follows_the_names_and_contents_of_the_files(tmp_path: Path) -> None:
    assert pipeline.folder_hash(tmp_path / "missing") is None
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/a.py").write_text("a = 1\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("notes", encoding="utf-8")
    first = pipeline.folder_hash(tmp_path)
    assert pipeline.folder_hash(tmp_path) == first
    assert pipeline.folder_hash(tmp_path, "*.py") != first
    (tmp_path / "sub/a.py").write_text("a = 2\n", encoding="utf-8")
    assert pipeline.folder_hash(tmp_path) != first
    (tmp_path / "sub/a.py").write_text("a = 1\n", encoding="utf-8")
    assert pipeline.folder_hash(tmp_path) == first
    (tmp_path / "sub/a.py").rename(tmp_path / "sub/b.py")
    assert pipeline.folder_hash(tmp_path) != first


def test_shared_inputs_cover_helper_code_environment_and_input_folders(tmp_path: Path) -> None:
    import helpers

    (tmp_path / "lexicon").mkdir()
    (tmp_path / "lexicon/stopwords.txt").write_text("的\n", encoding="utf-8")
    shared = pipeline.shared_inputs({"raw_dir": "raw", "lexicon_dir": "lexicon", "n": 1}, tmp_path)
    assert shared == {"helpers": pipeline.folder_hash(Path(helpers.__file__).parent, "*.py"),
                      "environment": pipeline.environment_hash(), "raw_dir": None,
                      "lexicon_dir": pipeline.folder_hash(tmp_path / "lexicon")}
    assert len(shared["helpers"]) == len(shared["environment"]) == 64


def test_how_work_is_spread_is_in_no_fingerprint(root: Path, tmp_path: Path) -> None:
    from helpers.config import load_params
    from helpers.pipeline import EXECUTION_PARAMS, notebook_parameters, stage_fingerprint

    params = load_params(root / "params.yaml") | {"build_dir": str(tmp_path)}
    spread = params | {"n_jobs": 2, "dask_scheduler": "tcp://127.0.0.1:8786", "sweep_jobs": 1}
    shared = {"helpers": "same"}
    for stage in ("clean", "tfidf", "sensitivity", "report"):
        assert stage_fingerprint(stage, params, root, shared) == stage_fingerprint(stage, spread, root, shared)
    assert stage_fingerprint("tfidf", params, root, shared) != stage_fingerprint(
        "tfidf", params | {"min_df": 3}, root, shared)
    shown = notebook_parameters("report", root / "report" / "report.ipynb", spread)["run_parameters"]
    assert not set(EXECUTION_PARAMS) & set(shown) and shown["min_df"] == params["min_df"]


def test_a_stage_that_fails_without_a_python_error_says_why_in_words():
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from helpers.pipeline import kernel_problem

    assert "kernel died" in kernel_problem(DeadKernelError("Kernel died"))
    assert "did not start" in kernel_problem(RuntimeError("Kernel didn't respond in 60 seconds"))
    assert "longer than the time allowed" in kernel_problem(CellTimeoutError("Cell execution timed out"))
    assert kernel_problem(ValueError("bad value\nsecond line")) == "ValueError: bad value"
