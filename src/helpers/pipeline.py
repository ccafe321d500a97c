"""Run the notebooks in order with papermill and render the report: `python -m helpers.pipeline`.

Stages that are up to date are skipped, like make does with targets. After a stage succeeds, its stamp
`<build_dir>/stamps/<stage>.json` records the stage's fingerprint, its executed notebook and the sha256 of every
file the stage wrote (each write through `helpers.io.atomic_write_bytes` is logged to the file named by
$HELPERS_WRITE_LOG, which the runner sets per kernel; the report stage also records the figures and style sheet
copied next to it). The fingerprint is a sha256 over:

- the stage's name, its notebook's bytes and the parameters passed to the notebook;
- the helper package's Python source, the Python version and the installed distributions with their versions;
- every file in the folders named by raw_dir and lexicon_dir (for the report stage also its style sheet, format
  settings and Typst header, and every file in figures_dir, which it copies);
- the current content of every output that the stamps of the earlier stages (in pipeline order) record, so a
  stage reruns after an earlier one only when that one's outputs actually changed.

A stage is up to date when its stamp's fingerprint matches, its executed notebook exists and every recorded
output still exists with its recorded sha256; otherwise it runs. Its stamp is deleted before it runs, so a failed
or interrupted stage always runs again. The rendering of report.html and report.pdf has its own stamp
(`stamps/render.json`) and is skipped when the report stage was up to date and both files are as rendered.
`--force` runs every selected stage regardless of the stamps (and writes new ones). Deleting the build folder
forgets every stamp.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.metadata
import json
import os
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
from helpers.io import WRITE_LOG, atomic_write_bytes, remove_stale_temporaries
from helpers.validate import check_stage_inputs, validate_corpus, validate_params

# The stages of the pipeline, in the order they run, with their notebooks (relative to the project root).
STAGES: dict[str, str] = {
    "clean": "notebooks/01_clean.ipynb",
    "passages": "notebooks/02_passages.ipynb",
    "tfidf": "notebooks/03_tfidf.ipynb",
    "topics": "notebooks/04_topics.ipynb",
    "clusters": "notebooks/05_clusters.ipynb",
    "convergence": "notebooks/06_convergence.ipynb",
    "reuse": "notebooks/07_reuse.ipynb",
    "sensitivity": "notebooks/08_sensitivity.ipynb",
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
# How long a stage waits for its kernel to start (generous: a busy 2-core machine can take long to import).
KERNEL_START_SECONDS = 300
# Files beside the report notebook that decide how it is rendered: a change reruns the report stage and renders again.
REPORT_SETTINGS = ("style.css", "format.yml", "typst-header.typ")
# Stamps of the stages (and of the rendering) go to <build_dir>/STAMPS; the write logs of the kernels too.
STAMPS = "stamps"
RENDER_STAMP = "render"
# Folders of inputs that every stage may read; their files are part of every stage's fingerprint.
INPUT_FOLDERS = ("raw_dir", "lexicon_dir")
# Parameters that decide how work is spread over processes, never what it produces: not in any fingerprint.
EXECUTION_PARAMS = ("n_jobs", "dask_scheduler", "sweep_jobs")


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

    def __init__(self, write_log: Path | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.clients: list[Any] = []
        self.write_log = write_log

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
    """Fresh kernels, one per stage that runs, the next one started ahead so that it boots while a stage runs.

    Each kernel logs the files it writes to its own write log in log_dir (see helpers.io.WRITE_LOG).
    """

    def __init__(self, cwd: Path, log_dir: Path):
        self.cwd, self.log_dir = cwd, log_dir
        self.kernels: list[TrackedKernelManager] = []
        self.exiting: list[TrackedKernelManager] = []
        self.spare: TrackedKernelManager | None = None
        self.started = 0

    def start(self) -> TrackedKernelManager:
        """Launch a new kernel in the project root, with an empty write log, without waiting for it to be ready."""
        self.started += 1
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"writes-{os.getpid()}-{self.started}.log"
        log.unlink(missing_ok=True)
        kernel = TrackedKernelManager(write_log=log, kernel_name=KERNEL)
        run_sync(kernel.start_kernel)(cwd=str(self.cwd), extra_arguments=list(KERNEL_ARGUMENTS),
                                      env={**os.environ, WRITE_LOG: str(log)})
        self.kernels.append(kernel)
        return kernel

    def take(self, ahead: bool) -> TrackedKernelManager:
        """A kernel for the stage about to run (the one started ahead, if any); if ahead, start the next one."""
        kernel, self.spare = self.spare or self.start(), None
        if ahead:
            self.spare = self.start()
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
            if kernel.write_log:
                kernel.write_log.unlink(missing_ok=True)
        self.exiting, self.kernels, self.spare = [], [], None


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


def select_stages(stage: str | None = None, start: str | None = None, end: str | None = None) -> list[str]:
    """The stages to run: one stage, or those from start (default: the first) to end (default: the last)."""
    for name in (stage, start, end):
        if name is not None and name not in STAGES:
            raise ProjectError(f"unknown stage {name!r}; choose one of: {', '.join(STAGES)}")
    names = list(STAGES)
    if stage is not None:
        if start is not None or end is not None:
            raise ProjectError("choose either one stage or a range of stages (--from/--to), not both")
        return [stage]
    first = names.index(start) if start is not None else 0
    last = names.index(end) if end is not None else len(names) - 1
    if last < first:
        raise ProjectError(f"--to {end} comes before --from {start}; the stages run in this order: {', '.join(names)}")
    return names[first:last + 1]


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
    """The params that the notebook declares; the report may also ask for the renderer and every parameter."""
    declared = declared_parameters(notebook)
    chosen = {name: params[name] for name in declared if name in params}
    if stage == REPORT_STAGE and "run_parameters" in declared and "run_parameters" not in chosen:
        chosen["run_parameters"] = {name: params[name] for name in sorted(params) if name not in EXECUTION_PARAMS}
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
                                   progress_bar=False, log_output=False, cwd=root, km=kernel,
                                   start_timeout=KERNEL_START_SECONDS)
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
        raise StageError(stage, STAGES[stage], failed if failed.exists() else None, kernel_problem(error)) from error
    return output


def kernel_problem(error: Exception) -> str:
    """Say in words why a stage failed without a Python error in its notebook (kernel died, did not start, timed
    out), or give the error's class and first line."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if isinstance(error, DeadKernelError):
        return ("the Python kernel died while running the notebook (it ran out of memory or was killed), "
                "so no cell recorded an error")
    if isinstance(error, CellTimeoutError):
        return f"a cell ran longer than the time allowed: {first_line}"
    if isinstance(error, RuntimeError | TimeoutError) and "respond" in first_line.lower():
        return (f"the Python kernel did not start within {KERNEL_START_SECONDS} s (machine too busy, or the "
                f"kernel crashed at start): {first_line}")
    return f"{error.__class__.__name__}: {first_line}" if first_line else error.__class__.__name__


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


# --- stamps: what a stage read and wrote, to skip it while all of that is unchanged ---------------------------


def file_sha256(path: Path) -> str | None:
    """The sha256 of a file's bytes; None when there is no such file."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def folder_hash(folder: Path, pattern: str = "*") -> str | None:
    """A sha256 over the files of a folder matching pattern (relative path and bytes, sorted by path)."""
    if not folder.is_dir():
        return None
    files = sorted((path.relative_to(folder).as_posix(), path) for path in folder.rglob(pattern) if path.is_file())
    digest = hashlib.sha256()
    for relative, path in files:
        digest.update(relative.encode("utf-8") + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def helpers_source_hash() -> str:
    """A sha256 over the Python source of the helper package."""
    import helpers

    return folder_hash(Path(helpers.__file__).resolve().parent, "*.py") or ""


def environment_hash() -> str:
    """A sha256 over the Python version and the installed distributions with their versions."""
    installed = sorted(f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions())
    return hashlib.sha256("\n".join([sys.version, *installed]).encode("utf-8")).hexdigest()


def shared_inputs(params: dict[str, Any], root: Path) -> dict[str, str | None]:
    """Hashes of what every stage depends on: helper code, environment and the input folders."""
    shared = {"helpers": helpers_source_hash(), "environment": environment_hash()}
    for name in INPUT_FOLDERS:
        if name in params:
            shared[name] = folder_hash(resolve(params[name], root))
    return shared


def stamp_path(stage: str, build_dir: Path) -> Path:
    """Where the stamp of a stage (or of the rendering) goes."""
    return build_dir / STAMPS / f"{stage}.json"


def stamp_key(path: Path, root: Path) -> str:
    """A file as a stamp names it: relative to the project root when inside it, else absolute."""
    path = path.resolve()
    return path.relative_to(root.resolve()).as_posix() if path.is_relative_to(root.resolve()) else path.as_posix()


def read_stamp(path: Path) -> dict[str, Any] | None:
    """A stamp; None when it is missing or unreadable."""
    try:
        stamp = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    shape = {"fingerprint": str, "executed": str, "outputs": dict}
    if not isinstance(stamp, dict) or not all(isinstance(stamp.get(key), kind) for key, kind in shape.items()):
        return None
    return stamp


def write_stamp(path: Path, fingerprint: str, executed: Path, outputs: list[Path], root: Path) -> None:
    """Write a stamp atomically: the fingerprint, the executed notebook and the sha256 of each output."""
    hashes = {stamp_key(output, root): file_sha256(output) for output in outputs}
    stamp = {"fingerprint": fingerprint, "executed": stamp_key(executed, root),
             "outputs": {key: digest for key, digest in sorted(hashes.items()) if digest is not None}}
    atomic_write_bytes(path, (json.dumps(stamp, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))


def outputs_intact(outputs: dict[str, str], root: Path) -> bool:
    """Whether every recorded output exists with its recorded sha256."""
    return all(file_sha256(root / key) == digest for key, digest in outputs.items())


def upstream_outputs(stage: str, build_dir: Path, root: Path) -> dict[str, str | None]:
    """The current sha256 of every output that the stamps of the stages before this one record."""
    names = list(STAGES)
    hashes: dict[str, str | None] = {}
    for earlier in names[:names.index(stage)]:
        stamp = read_stamp(stamp_path(earlier, build_dir))
        for key in stamp["outputs"] if stamp else {}:
            hashes[key] = file_sha256(root / key)
    return hashes


def stage_fingerprint(stage: str, params: dict[str, Any], root: Path, shared: dict[str, str | None]) -> str:
    """A sha256 over everything a stage's results depend on (see the module docstring)."""
    notebook = stage_notebook(stage, root)
    inputs = {"stage": stage, "notebook": file_sha256(notebook), "shared": shared,
              "parameters": {name: value for name, value in notebook_parameters(stage, notebook, params).items()
                             if name not in EXECUTION_PARAMS},
              "upstream": upstream_outputs(stage, param_path(params, "build_dir", root), root)}
    if stage == REPORT_STAGE:
        inputs["style"] = {name: file_sha256(notebook.with_name(name)) for name in REPORT_SETTINGS}
        inputs["figures"] = folder_hash(param_path(params, "figures_dir", root))
    text = json.dumps(inputs, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def up_to_date(stamp_file: Path, fingerprint: str, executed: Path, root: Path) -> bool:
    """Whether a stamp matches the fingerprint and its executed notebook and outputs are as recorded."""
    stamp = read_stamp(stamp_file)
    return (stamp is not None and stamp["fingerprint"] == fingerprint and stamp["executed"] == stamp_key(executed, root)
            and executed.is_file() and outputs_intact(stamp["outputs"], root))


def logged_writes(log: Path | None) -> set[Path]:
    """The files named in a write log that still exist."""
    try:
        lines = log.read_text(encoding="utf-8").splitlines() if log else []
    except FileNotFoundError:
        return set()
    return {Path(line) for line in lines if line and Path(line).is_file()}


def stage_outputs(stage: str, executed: Path, log: Path | None) -> list[Path]:
    """The files a stage wrote (its write log; for the report also the figures and style sheet staged with it)."""
    outputs = logged_writes(log)
    if stage == REPORT_STAGE:
        staged = [executed.parent / "style.css", *(executed.parent / "figures").rglob("*")]
        outputs.update(path for path in staged if path.is_file())
    return sorted(outputs)


def run_and_stamp(stage: str, fingerprint: str, params: dict[str, Any], root: Path,
                  kernel: TrackedKernelManager) -> Path:
    """Run a stage, its old stamp deleted first; on success stamp it with its fingerprint and outputs."""
    stamp_file = stamp_path(stage, param_path(params, "build_dir", root))
    stamp_file.unlink(missing_ok=True)
    try:
        executed = run_stage(stage, params, root, kernel)
        outputs = stage_outputs(stage, executed, kernel.write_log)
    finally:
        if kernel.write_log:
            kernel.write_log.unlink(missing_ok=True)
    write_stamp(stamp_file, fingerprint, executed, outputs, root)
    return executed


def render_fingerprint(report_fingerprint: str, executed_report: Path, report_dir: Path) -> str:
    """A sha256 over the report stage's fingerprint, its executed notebook and where the report goes."""
    inputs = [report_fingerprint, file_sha256(executed_report), str(report_dir.resolve())]
    return hashlib.sha256(json.dumps(inputs).encode("utf-8")).hexdigest()


def render_unless_up_to_date(executed_report: Path, report_dir: Path, report_fingerprint: str, build_dir: Path,
                             root: Path, stale: bool) -> list[Path]:
    """Render the report, unless it is not stale and report.html and report.pdf are as last rendered."""
    stamp_file = stamp_path(RENDER_STAMP, build_dir)
    fingerprint = render_fingerprint(report_fingerprint, executed_report, report_dir)
    if not stale and up_to_date(stamp_file, fingerprint, executed_report, root):
        outputs = [root / key for key in read_stamp(stamp_file)["outputs"]]
        print(f"render {executed_report} ... up to date")
        for path in outputs:
            print(f"  {path}")
        return outputs
    stamp_file.unlink(missing_ok=True)
    outputs = render_outputs(executed_report, report_dir)
    write_stamp(stamp_file, fingerprint, executed_report, outputs, root)
    return outputs


def check_stages(params: dict[str, Any], stages: list[str] | None, root: Path) -> list[str]:
    """The stages to run in pipeline order (default: all), once their notebooks, params and corpus are checked."""
    for stage in stages or []:
        select_stages(stage)
    stages = [stage for stage in STAGES if stages is None or stage in stages]
    for stage in stages:
        if not stage_notebook(stage, root).is_file():
            raise ProjectError(f"{STAGES[stage]}: notebook of stage {stage} not found")
    validate_params(params, root)
    if "clean" in stages and "raw_dir" in params:
        lexicon_dir = resolve(params["lexicon_dir"], root) if "lexicon_dir" in params else None
        validate_corpus(resolve(params["raw_dir"], root), lexicon_dir)
    return stages


def run_timed(stage: str, fingerprint: str, params: dict[str, Any], root: Path,
              kernel: TrackedKernelManager) -> Path:
    """Run and stamp a stage, then print how long it took (or that it failed or was interrupted)."""
    begun = time.perf_counter()
    try:
        executed = run_and_stamp(stage, fingerprint, params, root, kernel)
    except KeyboardInterrupt:
        print(f" interrupted after {time.perf_counter() - begun:.1f} s", flush=True)
        cancel_pending_tasks()
        raise
    except BaseException:
        print(f" failed after {time.perf_counter() - begun:.1f} s", flush=True)
        raise
    print(f" {time.perf_counter() - begun:.1f} s", flush=True)
    return executed


def run_pipeline(params: dict[str, Any], stages: list[str] | None = None, render: bool = True,
                 root: Path | None = None, force: bool = False) -> list[Path]:
    """Run the stages in pipeline order (default: all) unless up to date (all of them with force), then render
    the report unless up to date; return the executed notebooks and the rendered files."""
    root = root or project_root()
    stages = check_stages(params, stages, root)
    started = time.perf_counter()
    build_dir = param_path(params, "build_dir", root)
    for name in OUTPUT_FOLDERS.keys() & params.keys():
        remove_stale_temporaries(param_path(params, name, root))
    shared = shared_inputs(params, root)
    width = max(map(len, STAGES))
    executed: dict[str, Path] = {}
    fingerprints: dict[str, str] = {}
    ran: list[str] = []
    pool = KernelPool(root, build_dir / STAMPS)
    try:
        for index, stage in enumerate(stages, start=1):
            label = f"[{index}/{len(stages)}] {stage:<{width}} {STAGES[stage]} ..."
            fingerprints[stage] = stage_fingerprint(stage, params, root, shared)
            executed[stage] = executed_path(stage, stage_notebook(stage, root), build_dir)
            if not force and up_to_date(stamp_path(stage, build_dir), fingerprints[stage], executed[stage], root):
                print(f"{label} up to date", flush=True)
                continue
            for note in check_stage_inputs(stage, params, root):
                print(f"note: {note}", flush=True)
            kernel = pool.take(ahead=index < len(stages))
            print(label, end="", flush=True)
            executed[stage] = run_timed(stage, fingerprints[stage], params, root, kernel)
            pool.stop(kernel)
            ran.append(stage)
    finally:
        pool.close()
    written = list(executed.values())
    if render and REPORT_STAGE in executed:
        written += render_unless_up_to_date(executed[REPORT_STAGE], param_path(params, "report_dir", root),
                                            fingerprints[REPORT_STAGE], build_dir, root,
                                            stale=force or REPORT_STAGE in ran)
    skipped = f" ({len(stages) - len(ran)} up to date)" if len(ran) < len(stages) else ""
    print(f"done: {len(stages)} stage(s) in {time.perf_counter() - started:.1f} s{skipped}")
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


EPILOG = f"""\
stages, in order: {", ".join(STAGES)}

Each selected stage runs only when it is not up to date: when its notebook, the parameters it
declares, the helper code, the installed packages, the files in raw_dir or lexicon_dir, or an output of
an earlier stage changed since it last succeeded, or when a file it wrote is missing or was changed;
otherwise it prints "up to date". Its stamp in <build_dir>/stamps/ records what it read and wrote. The
report is rendered again only when the report stage ran or report.html/report.pdf are missing or
changed. --force runs the selected stages (and renders) regardless.

examples:
  python -m helpers.pipeline                          every stage that is not up to date, then the report
  python -m helpers.pipeline --from tfidf --to convergence
  python -m helpers.pipeline --stage topics -p n_topics=8 --no-render
  python -m helpers.pipeline --force                  run every stage again
"""


class ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are project errors (one line, exit status 2)."""

    def error(self, message: str) -> NoReturn:
        """Raise a usage error as a ProjectError."""
        raise ProjectError(f"{message}; see python -m helpers.pipeline --help")


def build_parser() -> ArgumentParser:
    """The command line of the pipeline."""
    parser = ArgumentParser(prog="python -m helpers.pipeline", formatter_class=argparse.RawDescriptionHelpFormatter,
                            description="Run the notebooks in order and render the report.", epilog=EPILOG)
    parser.add_argument("--params", type=Path, metavar="FILE", help="params file (default: params.yaml)")
    parser.add_argument("-p", dest="overrides", action="append", default=[], metavar="name=value",
                        help="override a parameter for this run (repeatable)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--stage", metavar="NAME", help="consider only this stage")
    which.add_argument("--from", dest="start", metavar="NAME", help="consider this stage and every stage after it")
    parser.add_argument("--to", dest="end", metavar="NAME",
                        help="consider the stages up to and including this one (combinable with --from)")
    parser.add_argument("--force", action="store_true", help="run the selected stages even when they are up to date")
    parser.add_argument("--list", action="store_true", help="list the stages and their parameters")
    parser.add_argument("--no-render", action="store_true", help="do not render report.html and report.pdf")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the pipeline from the command line; return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.stage is not None and args.end is not None:
            parser.error("argument --to: not allowed with argument --stage")
        root = project_root()
        if args.list:
            print(format_stages(root))
            return 0
        stages = select_stages(args.stage, args.start, args.end)
        source = args.params or root / "params.yaml"
        params = apply_overrides(load_params(source), args.overrides, root, source)
        run_pipeline(params, stages, render=not args.no_render, root=root, force=args.force)
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
