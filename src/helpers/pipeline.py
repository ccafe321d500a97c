"""Run the notebooks in order with papermill and render the report: `python -m helpers.pipeline`."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

import papermill
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_event_loop, run_sync

from helpers.config import ProjectError, load_params, parse_override, project_root, resolve
from helpers.validate import validate_corpus, validate_params

# The stages of the pipeline, in the order they run, with their notebooks (relative to the project root).
STAGES: dict[str, str] = {
    "clean": "notebooks/01_clean.ipynb",
    "passages": "notebooks/02_passages.ipynb",
    "tfidf": "notebooks/03_tfidf.ipynb",
    "topics": "notebooks/04_topics.ipynb",
    "clusters": "notebooks/05_clusters.ipynb",
    "convergence": "notebooks/06_convergence.ipynb",
    "report": "report/report.ipynb",
}
REPORT_STAGE = "report"
KERNEL = "python3"
# Quiet kernel start-up chatter; keep IPython's history in memory so kernels never share a history file.
# Modules every stage imports. A kernel started ahead loads them while the previous stage runs; the expression
# binds no name, so each notebook still needs (and has) its own imports.
WARM_MODULES = ("helpers.figures", "helpers.io", "helpers.cleaning", "helpers.passages", "helpers.tokens",
                "helpers.tfidf", "helpers.topics", "helpers.clusters", "helpers.convergence", "helpers.reporting")
WARM_UP = f"[__import__(name) for name in {WARM_MODULES!r}] and None"
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR", "--HistoryManager.hist_file=:memory:",
                    f"--IPKernelApp.exec_lines={[WARM_UP]!r}"]


class StageError(Exception):
    """A stage's notebook failed; the message names the stage, the cell and the executed copy to open."""

    def __init__(self, stage: str, notebook: str, executed: Path | None, problem: str, cell: int | None = None):
        self.stage, self.notebook, self.executed = stage, notebook, executed
        self.problem, self.cell = problem, cell
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" at cell {self.cell}" if self.cell is not None else ""
        hint = f"open {self.executed}" if self.executed else "rerun with --debug"
        return f"stage {self.stage} ({self.notebook}) failed{where}: {self.problem}\n{hint} for the full traceback"


class TrackedKernelManager(AsyncKernelManager):
    """A kernel manager that remembers the clients it hands out, so they are closed with the kernel."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.clients: list[Any] = []

    def client(self, **kwargs: Any) -> Any:
        """Return a new client of this kernel and remember it."""
        kernel_client = super().client(**kwargs)
        self.clients.append(kernel_client)
        return kernel_client


async def reap(kernel: AsyncKernelManager, terminate: bool) -> None:
    """Wait for a kernel to exit (terminated first if asked, killed if it lingers) and free its resources."""
    if terminate:
        await kernel.signal_kernel(signal.SIGTERM)
    await kernel.finish_shutdown()
    await kernel.cleanup_resources()


class KernelPool:
    """Fresh kernels, each started one stage ahead so that it boots while the previous stage runs."""

    def __init__(self, cwd: Path):
        self.cwd = cwd
        self.kernels: list[TrackedKernelManager] = []
        self.exiting: list[TrackedKernelManager] = []

    def start(self) -> TrackedKernelManager:
        """Launch a new kernel in the project root without waiting for it to be ready."""
        kernel = TrackedKernelManager(kernel_name=KERNEL)
        run_sync(kernel.start_kernel)(cwd=str(self.cwd), extra_arguments=list(KERNEL_ARGUMENTS))
        self.kernels.append(kernel)
        return kernel

    def stop(self, kernel: TrackedKernelManager) -> None:
        """Close an idle kernel's clients and ask it to exit; reap the kernels asked before, exited by now."""
        for earlier in self.exiting:
            run_sync(reap)(earlier, terminate=False)
        self.kernels.remove(kernel)
        for kernel_client in kernel.clients:
            kernel_client.stop_channels()
        run_sync(kernel.request_shutdown)()
        self.exiting = [kernel]

    def close(self) -> None:
        """Reap the kernels asked to exit; terminate the others (started ahead, or of an unfinished stage)."""
        for kernel in self.exiting:
            run_sync(reap)(kernel, terminate=False)
        for kernel in self.kernels:
            for kernel_client in kernel.clients:
                kernel_client.stop_channels()
            run_sync(reap)(kernel, terminate=True)
        self.exiting, self.kernels = [], []


def cancel_pending_tasks() -> None:
    """Cancel and collect the cell executions an interrupt left pending, so that they end quietly."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop = ensure_event_loop()
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


@lru_cache(maxsize=64)
def _inspect(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    """Names declared in a notebook's parameters cell (cached per notebook version)."""
    return tuple(papermill.inspect_notebook(path))


def declared_parameters(notebook: Path) -> tuple[str, ...]:
    """Names of the parameters that a notebook's `parameters` cell declares."""
    if not notebook.is_file():
        raise ProjectError(f"{notebook}: notebook not found")
    stat = notebook.stat()
    return _inspect(str(notebook), stat.st_mtime_ns, stat.st_size)


def stage_notebook(stage: str, root: Path) -> Path:
    """The notebook of a stage."""
    return root / STAGES[stage]


def select_stages(stage: str | None = None, start: str | None = None) -> list[str]:
    """The stages to run: one stage, a stage and all after it, or all of them."""
    for name in (stage, start):
        if name is not None and name not in STAGES:
            raise ProjectError(f"unknown stage {name!r}; choose one of: {', '.join(STAGES)}")
    names = list(STAGES)
    if stage is not None:
        return [stage]
    return names[names.index(start):] if start is not None else names


def apply_overrides(params: dict[str, Any], overrides: list[str], root: Path, source: Path) -> dict[str, Any]:
    """Params with `name=value` overrides applied; a name no params file or notebook knows is refused."""
    known = set(params)
    for stage in STAGES:
        if stage_notebook(stage, root).is_file():
            known.update(declared_parameters(stage_notebook(stage, root)))
    merged = dict(params)
    for text in overrides:
        name, value = parse_override(text)
        if name not in known:
            raise ProjectError(f"-p {name}: unknown parameter; it is neither in {source} "
                               "nor declared by a notebook (see --list)")
        merged[name] = value
    return separate_outputs(params, merged)


OUTPUT_FOLDERS = {"interim_dir": "interim", "processed_dir": "processed", "figures_dir": "figures",
                  "build_dir": "build", "report_dir": "report"}


def separate_outputs(defaults: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Send another corpus's outputs to runs/<corpus folder name>/, unless its output folders were given."""
    if params.get("raw_dir") == defaults.get("raw_dir"):
        return params
    corpus = Path(str(params["raw_dir"])).resolve().name or "corpus"
    separated = dict(params)
    for name, folder in OUTPUT_FOLDERS.items():
        if params.get(name) == defaults.get(name):
            separated[name] = f"runs/{corpus}/{folder}"
    return separated


def param_path(params: dict[str, Any], name: str, root: Path) -> Path:
    """A folder named by the params, resolved against the project root."""
    if name not in params:
        raise ProjectError(f"params: {name} is missing; add it to params.yaml")
    return resolve(params[name], root)


def executed_path(stage: str, notebook: Path, build_dir: Path) -> Path:
    """Where the executed copy of a stage's notebook goes."""
    folder = "report" if stage == REPORT_STAGE else "notebooks"
    return build_dir / folder / notebook.name


def notebook_parameters(stage: str, notebook: Path, params: dict[str, Any]) -> dict[str, Any]:
    """The params that the notebook declares, plus the renderer's label when the report asks for one."""
    declared = declared_parameters(notebook)
    chosen = {name: params[name] for name in declared if name in params}
    if stage == REPORT_STAGE and "renderer" in declared and "renderer" not in chosen:
        from helpers.render import detect_renderer, renderer_label

        chosen["renderer"] = renderer_label(detect_renderer())
    return chosen


def stage_report_assets(notebook: Path, figures_dir: Path, report_build: Path) -> None:
    """Copy the figures and the report's style sheet next to the executed report."""
    style = notebook.with_name("style.css")
    if not style.is_file():
        raise ProjectError(f"{style}: style sheet of the report not found")
    if not figures_dir.is_dir():
        raise ProjectError(f"{figures_dir}: figures folder not found; run the earlier stages first")
    shutil.rmtree(report_build / "figures", ignore_errors=True)
    shutil.copytree(figures_dir, report_build / "figures")
    shutil.copy2(style, report_build / "style.css")


def execute_notebook(notebook: Path, output: Path, parameters: dict[str, Any], root: Path,
                     kernel: AsyncKernelManager) -> None:
    """Execute a notebook into output, replaced only on success; a failed run is kept as *.failed.ipynb."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f"{output.stem}.partial.ipynb")
    failed = output.with_name(f"{output.stem}.failed.ipynb")
    try:
        papermill.execute_notebook(notebook, partial, parameters=parameters, kernel_name=KERNEL,
                                   progress_bar=False, log_output=False, cwd=root, km=kernel)
    except BaseException:
        if partial.exists():
            partial.replace(failed)
        raise
    partial.replace(output)
    failed.unlink(missing_ok=True)


def run_stage(stage: str, params: dict[str, Any], root: Path, kernel: AsyncKernelManager) -> Path:
    """Run one stage's notebook in the given kernel and return its executed copy."""
    notebook = stage_notebook(stage, root)
    output = executed_path(stage, notebook, param_path(params, "build_dir", root))
    if stage == REPORT_STAGE:
        stage_report_assets(notebook, param_path(params, "figures_dir", root), output.parent)
    parameters = notebook_parameters(stage, notebook, params)
    failed = output.with_name(f"{output.stem}.failed.ipynb")
    try:
        execute_notebook(notebook, output, parameters, root, kernel)
    except papermill.PapermillExecutionError as error:
        message = error.evalue.strip().splitlines()[0] if error.evalue.strip() else ""
        cell = error.exec_count if error.exec_count is not None else error.cell_index + 1
        problem = f"{error.ename}: {message}" if message else error.ename
        raise StageError(stage, STAGES[stage], failed, problem, cell) from error
    except Exception as error:
        raise StageError(stage, STAGES[stage], failed if failed.exists() else None,
                         f"{error.__class__.__name__}: {error}") from error
    return output


def render_outputs(executed_report: Path, report_dir: Path) -> list[Path]:
    """Render the executed report to HTML and PDF, print where they went and return their paths."""
    from helpers.render import render_report

    begun = time.perf_counter()
    print(f"render {executed_report} ...", end="", flush=True)
    outputs = render_report(executed_report, report_dir)
    print(f" {time.perf_counter() - begun:.1f} s ({outputs['renderer']})")
    for kind in ("html", "pdf"):
        print(f"  {outputs[kind]}")
    return [Path(outputs["html"]), Path(outputs["pdf"])]


def run_pipeline(params: dict[str, Any], stages: list[str] | None = None, render: bool = True,
                 root: Path | None = None) -> list[Path]:
    """Run the stages in pipeline order (default: all), then render the report; return the files written."""
    root = root or project_root()
    for stage in stages or []:
        select_stages(stage)
    stages = [stage for stage in STAGES if stages is None or stage in stages]
    for stage in stages:
        if not stage_notebook(stage, root).is_file():
            raise ProjectError(f"{STAGES[stage]}: notebook of stage {stage} not found")
    validate_params(params, root)
    if "clean" in stages and "raw_dir" in params:
        validate_corpus(resolve(params["raw_dir"], root))
    width = max(map(len, STAGES))
    executed: dict[str, Path] = {}
    started = time.perf_counter()
    pool = KernelPool(root)
    try:
        upcoming = pool.start() if stages else None
        for index, stage in enumerate(stages, start=1):
            kernel, upcoming = upcoming, (pool.start() if index < len(stages) else None)
            print(f"[{index}/{len(stages)}] {stage:<{width}} {STAGES[stage]} ...", end="", flush=True)
            begun = time.perf_counter()
            try:
                executed[stage] = run_stage(stage, params, root, kernel)
            except KeyboardInterrupt:
                print(f" interrupted after {time.perf_counter() - begun:.1f} s", flush=True)
                cancel_pending_tasks()
                raise
            except BaseException:
                print(f" failed after {time.perf_counter() - begun:.1f} s", flush=True)
                raise
            pool.stop(kernel)
            print(f" {time.perf_counter() - begun:.1f} s", flush=True)
    finally:
        pool.close()
    written = list(executed.values())
    if render and REPORT_STAGE in executed:
        written += render_outputs(executed[REPORT_STAGE], param_path(params, "report_dir", root))
    print(f"done: {len(stages)} stage(s) in {time.perf_counter() - started:.1f} s")
    return written


def format_stages(root: Path) -> str:
    """The stages in order with their notebooks and declared parameters, one line each."""
    width = max(map(len, STAGES))
    path_width = max(map(len, STAGES.values()))
    lines = []
    for stage, relative in STAGES.items():
        notebook = root / relative
        declared = ", ".join(declared_parameters(notebook)) if notebook.is_file() else "(notebook not found)"
        lines.append(f"{stage:<{width}}  {relative:<{path_width}}  {declared or '(no parameters)'}")
    return "\n".join(lines)


class ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are project errors (one line, exit status 2)."""

    def error(self, message: str) -> NoReturn:
        """Raise a usage error as a ProjectError."""
        raise ProjectError(f"{message}; see python -m helpers.pipeline --help")


def build_parser() -> ArgumentParser:
    """The command line of the pipeline."""
    parser = ArgumentParser(prog="python -m helpers.pipeline",
                            description="Run the notebooks in order and render the report.")
    parser.add_argument("--params", type=Path, metavar="FILE", help="params file (default: params.yaml)")
    parser.add_argument("-p", dest="overrides", action="append", default=[], metavar="name=value",
                        help="override a parameter for this run (repeatable)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--stage", metavar="NAME", help="run only this stage")
    which.add_argument("--from", dest="start", metavar="NAME", help="run this stage and every stage after it")
    parser.add_argument("--list", action="store_true", help="list the stages and their parameters")
    parser.add_argument("--no-render", action="store_true", help="do not render report.html and report.pdf")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the pipeline from the command line; return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        root = project_root()
        if args.list:
            print(format_stages(root))
            return 0
        stages = select_stages(args.stage, args.start)
        source = args.params or root / "params.yaml"
        params = apply_overrides(load_params(source), args.overrides, root, source)
        run_pipeline(params, stages, render=not args.no_render, root=root)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except StageError as error:
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ProjectError as error:
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        if debug:
            raise
        print(f"error: {error.__class__.__name__}: {error} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
