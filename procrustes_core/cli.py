"""The ``procrustes`` command: train a run, write a report, start the app or the lessons."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .cli_args import OneLineParser, choice_arg, integer_arg
from .cli_data import add_datasets_command, tell_data, your_data_settings
from .config import Names, TrainConfig, field_help, field_names, field_rule, parse_json
from .errors import ProcrustesError, TrainingDiverged, shown, shown_path
from .extras import require
from .files import atomic_write_text, check_not_input, check_output_file, read_limited
from .methods.catalogue import KINDS
from .methods.listing import KIND_TITLES, method_knobs, methods_json, methods_markdown, methods_text  # noqa: F401

ALIASES = {"mfw_strength": ["--strength"], "mfw_layer": ["--layer"], "data_path": ["--data"],
           "data_label": ["--label"], "data_drop": ["--drop"]}
ROOT = Path(__file__).resolve().parent.parent
MAX_CONFIG_BYTES = 2**20  # a settings file: a few hundred bytes in practice
DEFAULT_PORT = 8501


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig setting (``--batch-size`` for ``batch_size``), plus short aliases."""
    default = TrainConfig()
    for name, help_text in field_help().items():
        flags = ["--" + name.replace("_", "-"), *ALIASES.get(name, [])]
        rule = field_rule(name)
        choices = getattr(rule, "options", None)
        shown = getattr(default, name)
        suffix = f" {{{','.join(choices)}}}" if choices else ""
        repeated = {"action": "append"} if isinstance(rule, Names) else {}  # --drop A --drop B
        parser.add_argument(*flags, dest=name, default=None, metavar=name.upper() if not choices else "",
                            help=f"{help_text}{suffix} (default: {shown})".replace("%", "%%"), **repeated)
    parser.add_argument("--config", dest="config_file", default=None,
                        help="JSON file of settings; flags given on the command line override it")
    parser.add_argument("--preset", default=None,
                        help="start from a named recipe (e.g. cifar10-lt-paper); --config and flags override it")


def config_from_args(args: argparse.Namespace, base: dict | None = None) -> TrainConfig:
    from .presets import preset_settings

    data: dict = preset_settings(args.preset) if args.preset is not None else {}
    data.update(base or {})
    if args.config_file is not None:
        where = f"config file {shown_path(args.config_file)}"
        settings = parse_json(read_limited(args.config_file, "config", MAX_CONFIG_BYTES), where)
        try:
            data.update(TrainConfig.from_dict(settings).to_dict())
        except ProcrustesError as err:
            raise ProcrustesError(f"{where}: {err}") from None
    flags = [name for name in field_names() if getattr(args, name) is not None]
    for name in flags:
        data[name] = field_rule(name).parse(getattr(args, name))
    if "mixer" not in data and any(name.startswith("mfw_") for name in flags):
        data["mixer"] = "mfw"  # --strength 0.9 (or another MFW flag) asks for major feature weakening
    your_data_settings(data, flags)
    return TrainConfig.from_dict(data)


def cmd_train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.seeds is not None:
        return train_seeds(args, config)
    out = check_output_file(args.out, "out") if args.out is not None else None  # before any training
    checkpoint = check_output_file(args.save_checkpoint, "save_checkpoint") if args.save_checkpoint else None
    check_not_input(out, "out", [*train_inputs(args, config), ("checkpoint written by --save-checkpoint", checkpoint)])
    check_not_input(checkpoint, "save_checkpoint", train_inputs(args, config))

    from tqdm import tqdm  # only now: a mistake above is told without waiting for torch to load

    from .training.trainer import Trainer

    trainer = Trainer(config)
    counts = ", ".join(str(c) for c in trainer.data.counts)
    print(f"{config.dataset}: {len(trainer.data.y_train)} training samples, counts [{counts}]; "
          f"device {trainer.device}", file=sys.stderr)
    tell_data(trainer.data)
    bar = tqdm(total=trainer.total_epochs, unit="epoch", file=sys.stderr, disable=args.quiet)
    told = 0

    def tell_warnings() -> None:  # each divergence warning once, as it comes
        nonlocal told
        for warning in trainer.history.warnings[told:]:
            tqdm.write(f"warning: {warning}", file=sys.stderr)
        told = len(trainer.history.warnings)

    tell_warnings()  # what is known before training (a tiny last mini-batch with BatchNorm)
    code = 0
    try:
        for record in trainer.epochs():
            groups = " ".join(f"{g} {v:.2f}" for g, v in record.group_test_acc.items())
            bar.set_postfix_str(f"balanced {record.balanced_acc:.3f} | test {groups}")
            bar.update(record.epoch - bar.n)
            tell_warnings()
    except TrainingDiverged as err:
        bar.close()
        tell_warnings()
        print(f"error: {err}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        bar.close()
        trainer.stop(f"stopped by the user after {trainer.epoch} epochs")
        print(trainer.history.stopped, file=sys.stderr)
        code = 130
    bar.close()
    last = trainer.history.last
    if last is not None:
        groups = ", ".join(f"{g} {v:.3f}" for g, v in last.group_test_acc.items())
        print(f"epoch {last.epoch}: balanced test accuracy {last.balanced_acc:.3f} ({groups})")
    if out is not None:
        trainer.history.save(out)
        print(f"saved {out}", file=sys.stderr)
    if checkpoint is not None and code != 1:  # a diverged network's weights are not worth starting from
        trainer.save_checkpoint(checkpoint)
        print(f"saved checkpoint {checkpoint} ({trainer.epoch} epochs)", file=sys.stderr)
    return code


def train_seeds(args: argparse.Namespace, config: TrainConfig) -> int:
    """``train --seeds``: the seeds stacked in one network per worker (``run_seeds``), then the mean and its
    interval."""
    seeds = parse_seeds(args.seeds, config.seed)
    if args.save_checkpoint:
        raise ProcrustesError("--save-checkpoint with --seeds: a checkpoint is one network; train one seed")
    outs = {s: check_output_file(str(seed_path(Path(args.out), s)), "out") for s in seeds} if args.out else {}
    for out in outs.values():
        check_not_input(out, "out", train_inputs(args, config))

    from .analysis.compare import mean_interval
    from .training.seeds import run_seeds

    histories = run_seeds(config, seeds, workers=args.workers)
    for seed, history in zip(seeds, histories):
        if history.last is not None:
            print(f"seed {seed}: epoch {history.last.epoch}: balanced test accuracy {history.last.balanced_acc:.3f}"
                  + (f" ({history.stopped})" if history.stopped else ""))
        if seed in outs:
            history.save(outs[seed])
            print(f"saved {outs[seed]}", file=sys.stderr)
    finished = [h for h in histories if h.last is not None]
    if len(finished) > 1:
        mean, lo, hi = mean_interval([h.last.balanced_acc for h in finished])
        tail = finished[0].tail
        t_mean, t_lo, t_hi = mean_interval([h.last.group_test_acc[tail] for h in finished])
        print(f"{len(finished)} seeds: balanced test accuracy {mean:.3f} [{lo:.3f}, {hi:.3f}] (95 % interval of the "
              f"mean); {tail} classes {t_mean:.3f} [{t_lo:.3f}, {t_hi:.3f}]")
    return 0 if len(finished) == len(histories) and not any(h.stopped for h in histories) else 1


def train_inputs(args: argparse.Namespace, config: TrainConfig) -> list[tuple[str, str | None]]:
    """The files a training reads, named as its outputs' errors name them."""
    return [("settings file (--config)", args.config_file), ("checkpoint (--init-checkpoint)", config.init_checkpoint),
            ("data file (--data)", config.data_path or None)]


def parse_seeds(text: str, first: int) -> list[int]:
    """``--seeds``: a count (``5``: seeds first … first + 4) or a list (``0,3,7``), checked."""
    from .names import MAX_SEEDS, check_seeds, seed_range

    text = text.strip()
    if text.isdigit() and len(text) <= 3:
        if not 1 <= int(text) <= MAX_SEEDS:
            raise ProcrustesError(f"seeds={shown(text)}: expected a count from 1 to {MAX_SEEDS}, or a list like 0,3,7")
        return seed_range(first, int(text))
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() and len(part) <= 10 for part in parts):
        raise ProcrustesError(f"seeds={shown(text)}: expected a count (5) or a list of seeds (0,3,7)")
    return check_seeds(int(part) for part in parts)


def seed_path(out: Path, seed: int) -> Path:
    """Where one seed's history of several goes: ``run.json`` → ``run-seed3.json``."""
    return out.with_name(f"{out.stem}-seed{seed}{out.suffix or '.json'}")


VERDICT_NAMES = {"erm": "ERM", "mfw": "MFW"}  # a verdict names a method as the pages do


def cmd_compare(args: argparse.Namespace) -> int:
    """Train A and B on the same seeds, score both with and without logit adjustment, print the verdicts."""
    from .methods.catalogue import METHODS, baseline_of

    base = config_from_args(args)
    seeds = parse_seeds(args.seeds, base.seed)
    for side in (args.a, args.b):
        if side != "erm" and side not in METHODS:
            raise ProcrustesError(f"method={shown(side)}: expected erm or one of {', '.join(METHODS)}")
    out = check_output_file(args.out, "out") if args.out is not None else None
    check_not_input(out, "out", [("settings file (--config)", args.config_file)])
    plain = baseline_of(base)
    configs = {name: plain if name == "erm" else plain.with_methods(name) for name in dict.fromkeys((args.a, args.b))}

    from .analysis.seeds import compare_runs_paired
    from .methods.posthoc import PostHoc
    from .training.seeds import run_seeds

    print(f"training {', '.join(configs)} on seeds {seeds} ({len(configs) * len(seeds)} trainings, "
          f"{args.workers or 'all'} workers)", file=sys.stderr)
    found = run_seeds(configs, seeds, workers=args.workers, variants={"LA": PostHoc(la_tau=args.la_tau_compare)})
    a, b = found[args.a], found[args.b]
    verdicts = []
    names = {name: VERDICT_NAMES.get(name, name) for name in (args.a, args.b)}
    print(f"B vs A on each metric: B − A in points, the seeds B is ahead on; LA is τ = {args.la_tau_compare:g}")
    for variant, suffix in ((None, ""), ("LA", " + LA")):
        for metric, group in (("balanced_acc", None), ("test_acc", a[0].tail)):
            result = compare_runs_paired(a, b, names[args.a] + suffix, names[args.b] + suffix, metric=metric,
                                         group=group, a_variant=variant, b_variant=variant)
            result.metric = "balanced test accuracy" if group is None else f"test accuracy of the {group} classes"
            verdicts.append(result.to_dict())
            print(f"{result.metric}: {result.sentence()}")
    if out is not None:
        atomic_write_text(out, json.dumps({"seeds": seeds, "a": args.a, "b": args.b, "config": base.to_dict(),
                                           "verdicts": verdicts}, indent=1), "out")
        print(f"saved {out}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .analysis.history import RunHistory

    html = check_output_file(args.html, "html") if args.html is not None else None
    check_not_input(html, "html", [("run file", args.run), ("checkpoint (--checkpoint)", args.checkpoint)])
    history = RunHistory.load(args.run)
    probabilities = labels = None
    if args.checkpoint is not None:  # the figures beyond accuracy need the run's network
        from .training.probabilities import run_probabilities

        probabilities, labels = run_probabilities(history, args.checkpoint, "checkpoint")
    if html is not None:
        from .figures.report import write_html_report

        write_html_report(history, html, probabilities, labels)
        print(f"wrote {html}")
    last = history.last
    summary = {"epochs": len(history.records), "counts": history.counts, "stopped": history.stopped}
    if history.warnings:
        summary["warnings"] = history.warnings
    if last is not None:
        summary.update(balanced_acc=round(last.balanced_acc, 4), accuracy=round(last.accuracy, 4),
                       group_test_acc={g: round(v, 4) for g, v in last.group_test_acc.items()})
    if probabilities is not None:
        from .analysis.calibration import calibration_summary

        scores = calibration_summary(probabilities, labels)
        summary.update(ece=round(scores.ece, 4), mean_average_precision=round(scores.mean_average_precision, 4))
    from .analysis.narrator import narrate

    summary["story"] = [s.text for s in narrate(history)]
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def app_port(flag: int | None, environ: Mapping[str, str] = os.environ) -> int:
    """The app's port: ``--port``, else the environment's ``PORT``, else 8501. Only ``procrustes app``
    reads ``PORT``, so a bad one breaks nothing else, and there it is one line."""
    if flag is not None:
        return flag
    text = environ.get("PORT")
    if text is None or text.strip() == "":
        return DEFAULT_PORT
    try:
        return integer_arg(1, 65_535)(text.strip())
    except argparse.ArgumentTypeError:
        raise ProcrustesError(f"PORT={shown(text)}: expected a port number from 1 to 65535 "
                              "(the environment's PORT, or give --port)") from None


def cmd_app(args: argparse.Namespace) -> int:
    require("streamlit")
    script = ROOT / "app" / "streamlit_app.py"
    port = app_port(args.port)
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
               "--server.fileWatcherType", "none", "--server.headless", "true"]
    return subprocess.call(command)


def cmd_lessons(args: argparse.Namespace) -> int:
    require("jupyterlab")
    return subprocess.call([sys.executable, "-m", "jupyter", "lab", str(ROOT / "lessons")])


def cmd_methods(args: argparse.Namespace) -> int:
    if args.markdown:
        print(methods_markdown(), end="")
    else:
        print(methods_json() if args.json else methods_text(args.kind))
    if not (args.markdown or args.json or args.kind):
        from .training.stacked import stacking_text

        print("\n" + stacking_text(), end="")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .files import check_output_folder
    from .sweep import load_grid_file, parse_grid_values, run_sweep, save_parquet, sweep_figures

    base = {}
    grid: dict = {}
    if args.file is not None:
        base, grid = load_grid_file(args.file)
    base_config = config_from_args(args, base)
    for item in args.grid or []:
        name, sep, values = item.partition("=")
        if not sep or not values.strip():
            raise ProcrustesError(f"grid={shown(item)}: expected SETTING=V1,V2,... e.g. ratio=10,100")
        name = name.strip().replace("-", "_")
        grid[name] = parse_grid_values(name, values)
    if args.seeds:
        grid["seed"] = list(range(args.seeds))
    if not grid:
        raise ProcrustesError("grid: nothing to sweep; give --grid SETTING=V1,V2 (or --file grid.yaml)")
    out = check_output_folder(args.out_dir, "out_dir")
    for name in ("results.csv", "results.parquet", "heatmap_balanced_acc.html", "heatmap_tail_test_acc.html"):
        check_not_input(out / name, "out_dir", [("grid file (--file)", args.file)])  # what it writes is not it
    bar = None

    def progress(done: int, total: int, row: dict) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="run", file=sys.stderr, disable=args.quiet)
        bar.n = done
        if "balanced_acc" in row:
            bar.set_postfix_str(f"last: balanced {row['balanced_acc']:.3f}")
        bar.refresh()

    frame = run_sweep(base_config, grid, out, backend=args.backend, workers=args.workers, address=args.address,
                      progress=progress)
    if bar is not None:
        bar.close()
    from .figures.report import write_figures_html

    for name, fig in sweep_figures(frame, grid).items():
        write_figures_html({name: fig}, out / f"heatmap_{name}.html", f"Sweep: {name}")
    save_parquet(frame, out / "results.parquet")  # CSV is always written; Parquet where pyarrow is installed
    rows = frame.to_dict("records")  # Python values: 100000, not np.int64(100000)
    failed = [i for i, row in enumerate(rows) if isinstance(row.get("failed"), str)]
    for i in failed:
        point = ", ".join(f"{name}={shown(rows[i][name])}" for name in grid)
        print(f"error: grid point {i} ({point}) failed: {rows[i]['failed']}", file=sys.stderr)
    for i, row in enumerate(rows):
        if isinstance(row.get("warnings"), str):
            print(f"warning: grid point {i}: {row['warnings']}", file=sys.stderr)
    print(f"{len(frame)} runs" + (f", {len(failed)} failed" if failed else "")
          + f"; results in {out / 'results.csv'}")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="procrustes", description="Imbalanced deep learning and Procrustean training.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    train = sub.add_parser("train", help="train one run and save its history")
    add_config_flags(train)
    train.add_argument("--out", default=None, help="where to save the run history (JSON)")
    train.add_argument("--save-checkpoint", default=None, metavar="PATH",
                       help="after training, save the network's weights and a small header here (for "
                            "--init-checkpoint of another run)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--seeds", default=None, metavar="N|LIST",
                       help="train several seeds at once (5: from --seed on; or 0,3,7), one worker process each; "
                            "--out run.json then writes run-seed0.json, ...")
    train.add_argument("--workers", type=integer_arg(1, 64), default=None, help="parallel seeds (default: cores)")
    train.set_defaults(func=cmd_train)
    compare = sub.add_parser("compare", help="A vs B on the same seeds: the paired difference, its interval, "
                                             "the win count, with and without logit adjustment")
    add_config_flags(compare)
    compare.add_argument("--a", default="erm", help="the baseline: erm or a method of `procrustes methods`")
    compare.add_argument("--b", default="mfw", help="the method tested against it")
    compare.add_argument("--seeds", default="5", metavar="N|LIST", help="seeds (a count from --seed on, or a list)")
    compare.add_argument("--workers", type=integer_arg(1, 64), default=None, help="parallel trainings (default: cores)")
    compare.add_argument("--compare-tau", dest="la_tau_compare", type=float, default=1.0,
                         help="tau of the post-hoc logit adjustment both are also scored with")
    compare.add_argument("--out", default=None, help="save the verdicts here (JSON)")
    compare.set_defaults(func=cmd_compare)
    report = sub.add_parser("report", help="summarise a saved run; --html writes every figure")
    report.add_argument("run", help="a run history JSON file")
    report.add_argument("--html", default=None, help="write an HTML report here")
    report.add_argument("--checkpoint", default=None, metavar="PATH",
                        help="the run's network (procrustes train --save-checkpoint): adds precision-recall "
                             "curves, calibration (reliability, ECE) and a decision threshold of its test "
                             "predictions")
    report.set_defaults(func=cmd_report)
    app = sub.add_parser("app", help="start the Streamlit app")
    app.add_argument("--port", type=integer_arg(1, 65_535), default=None,
                     help=f"port to serve on (default: the environment's PORT, else {DEFAULT_PORT})")
    app.set_defaults(func=cmd_app)
    methods = sub.add_parser("methods", help="list every method: what it does, its formula, how to select it")
    kinds = list(KINDS)
    methods.add_argument("--kind", type=choice_arg(kinds), metavar="{" + ",".join(kinds) + "}", default=None,
                         help="only methods of this kind")
    methods.add_argument("--json", action="store_true", help="machine-readable list")
    methods.add_argument("--markdown", action="store_true", help="the tables of docs/methods.md")
    methods.set_defaults(func=cmd_methods)
    sweep = sub.add_parser("sweep", help="train a grid of configs, resumable, on a local pool or a Ray cluster")
    add_config_flags(sweep)
    sweep.add_argument("--grid", action="append", metavar="SETTING=V1,V2",
                       help="values of one setting to sweep (repeat for more settings)")
    sweep.add_argument("--file", default=None, help="YAML or TOML file with 'base' settings and a 'grid'")
    sweep.add_argument("--seeds", type=integer_arg(0, 1_000), default=0, help="add seeds 0..N-1 to the grid")
    sweep.add_argument("--out-dir", required=True, help="folder for run histories, results.csv and heatmaps")
    backends = ["serial", "local", "ray"]
    sweep.add_argument("--backend", type=choice_arg(backends), metavar="{" + ",".join(backends) + "}",
                       default="local", help="where grid points train (default: local, a process pool)")
    sweep.add_argument("--workers", type=integer_arg(1, 4_096), default=None,
                       help="parallel runs (default: one per core)")
    sweep.add_argument("--address", default=None, help="Ray cluster address to join (default: start a local Ray)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(func=cmd_sweep)
    add_datasets_command(sub)
    lessons = sub.add_parser("lessons", help="open JupyterLab on the lessons")
    lessons.set_defaults(func=cmd_lessons)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand. What a user can get wrong is one ``error:`` line and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ProcrustesError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a write the core did not wrap: still one line, not a traceback
        where = f"{shown_path(err.filename)}: " if err.filename else ""
        print(f"error: {where}{err.strerror or type(err).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
