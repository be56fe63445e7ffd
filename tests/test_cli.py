"""The procrustes command: train, report, and one-line errors with no output file."""

import json
import os
import subprocess
import sys

import pytest

from procrustes_core.analysis.history import RunHistory
from procrustes_core.cli import main

TINY = ["--n-samples", "2000", "--ratio", "10", "--width", "8", "--epochs", "2", "--threads", "1", "--quiet"]


def test_train_saves_a_loadable_history(tmp_path, capsys):
    out = tmp_path / "run.json"
    assert main(["train", *TINY, "--strength", "0.5", "--layer", "block1", "--la-tau", "1", "--out", str(out)]) == 0
    history = RunHistory.load(out)
    assert len(history.records) == 2
    assert history.config.mfw_strength == 0.5 and history.config.mfw_layer == "block1" and history.config.la_tau == 1
    assert "balanced test accuracy" in capsys.readouterr().out


def test_config_file_with_flags_overriding(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"ratio": 50, "epochs": 5, "n_samples": 2000, "width": 8}))
    out = tmp_path / "run.json"
    args = ["train", "--config", str(config), "--epochs", "1", "--quiet", "--threads", "1", "--out", str(out)]
    assert main(args) == 0
    history = RunHistory.load(out)
    assert history.config.ratio == 50 and history.config.epochs == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ratio", "0.5"], "ratio=0.5"),
        (["--strength", "1.5"], "mfw_strength=1.5"),
        (["--dataset", "imagenet"], "dataset='imagenet'"),
        (["--layer", "deep"], "mfw_layer='deep'"),
        (["--epochs", "0"], "epochs=0"),
        (["--lr", "-1"], "lr=-1"),
        (["--profile", "custom", "--counts", "5,5"], "counts"),
        (["--dataset", "mnist", "--data-dir", "/no/such/folder"], "no such folder"),
        (["--augment", "rotate"], "augment='rotate'"),
        (["--augment", "signal", "--augment-prob", "1.5"], "augment_prob=1.5"),
        (["--augment-classes", "tail"], "augment_classes='tail'"),
        (["--attention", "cbam"], "attention='cbam'"),
        (["--bbn", "1", "--sampler", "oversample"], "bbn=true with sampler='oversample'"),
        (["--init-checkpoint", "/no/such/file.pt"], "init_checkpoint='/no/such/file.pt': no such file"),
        (["--finetune", "linear-probe"], "finetune='linear-probe' with init_checkpoint=None"),
        (["--save-checkpoint", "/no/such/folder/net.pt"], "save_checkpoint='/no/such/folder/net.pt': folder"),
    ],
)
def test_bad_values_exit_2_with_one_line_and_no_file(tmp_path, capsys, args, message):
    out = tmp_path / "run.json"
    assert main(["train", *TINY, *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("error: ")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_saved_checkpoint_starts_a_linear_probe_and_a_fine_tuned_run(tmp_path, capsys):
    checkpoint, out = tmp_path / "balanced.pt", tmp_path / "probe.json"
    assert main(["train", *TINY, "--ratio", "1", "--save-checkpoint", str(checkpoint)]) == 0
    assert "saved checkpoint" in capsys.readouterr().err
    assert main(["train", *TINY, "--init-checkpoint", str(checkpoint), "--finetune", "linear-probe",
                 "--classifier-retrain-epochs", "1", "--out", str(out)]) == 0
    history = RunHistory.load(out)
    assert history.config.init_checkpoint == str(checkpoint) and [r.stage for r in history.records] == [1, 1, 2]
    assert main(["train", *TINY, "--init-checkpoint", str(checkpoint)]) == 0


def test_a_checkpoint_of_other_classes_or_inputs_exits_2_and_writes_nothing(tmp_path, capsys):
    toy = ["--dataset", "toy2d", "--n-samples", "600", "--width", "4", "--epochs", "1", "--threads", "1", "--quiet"]
    checkpoint, out = tmp_path / "spiral.pt", tmp_path / "run.json"
    assert main(["train", *toy, "--ratio", "1", "--save-checkpoint", str(checkpoint)]) == 0
    capsys.readouterr()
    for args in (["--toy-shape", "blobs"], ["--dataset", "mnist1d", "--model", "mlp"]):
        assert main(["train", *toy, *args, "--init-checkpoint", str(checkpoint), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: init_checkpoint='{checkpoint}': ")
        assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["spiral.pt"]
    (tmp_path / "spiral.pt").write_bytes(b"\x00" * 64)
    assert main(["train", *toy, "--init-checkpoint", str(checkpoint), "--out", str(out)]) == 2
    assert "not a Procrustes checkpoint" in capsys.readouterr().err and not out.exists()


def test_bad_config_file_is_one_line(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text("{not json")
    assert main(["train", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert "config.json" in err and "not valid JSON" in err and "\n" not in err


def test_report_writes_html_and_summarises(tmp_path, capsys):
    out = tmp_path / "run.json"
    main(["train", *TINY, "--out", str(out)])
    capsys.readouterr()
    html = tmp_path / "report.html"
    assert main(["report", str(out), "--html", str(html)]) == 0
    page = html.read_text()
    assert "Feature gradients".lower() in page.lower() and page.count("plotly-graph-div") >= 6
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["epochs"] == 2 and set(summary["group_test_acc"]) == {"major", "minor"}


def test_report_on_a_corrupt_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "procrustes-run", "version": 1}')
    assert main(["report", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "bad.json" in err and "\n" not in err


def test_diverging_run_exits_1_and_saves_the_epochs_before(tmp_path, capsys):
    out = tmp_path / "run.json"
    code = main(["train", *TINY, "--model", "mlp", "--width", "64", "--lr", "100", "--momentum", "0.99",
                 "--weight-decay", "0", "--out", str(out)])
    assert code == 1
    assert "diverged" in capsys.readouterr().err
    assert RunHistory.load(out).stopped.startswith("training diverged")


def test_console_script_shows_no_traceback(tmp_path):
    env = dict(os.environ)
    result = subprocess.run([sys.executable, "-m", "procrustes_core.cli", "train", "--ratio", "-3"],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.strip() == \
        "error: ratio=-3.0: expected a finite number ≥ 1 and ≤ 10000"


def test_unknown_flag_is_one_line():
    result = subprocess.run([sys.executable, "-m", "procrustes_core.cli", "train", "--colour", "red"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_train_on_several_seeds_saves_one_history_per_seed_and_prints_the_interval(tmp_path, capsys):
    out = tmp_path / "run.json"
    flags = [f for f in TINY if f != "--quiet"]
    assert main(["train", *flags, "--seeds", "2", "--seed", "5", "--out", str(out), "--workers", "2"]) == 0
    assert [RunHistory.load(tmp_path / f"run-seed{s}.json").config.seed for s in (5, 6)] == [5, 6]
    printed = capsys.readouterr().out
    assert "2 seeds: balanced test accuracy" in printed and "95 % interval" in printed


def test_compare_trains_a_and_b_on_the_same_seeds_and_prints_paired_verdicts(tmp_path, capsys):
    out = tmp_path / "verdicts.json"
    assert main(["compare", *[f for f in TINY if f != "--quiet"], "--seeds", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("seed noise") == 4  # balanced and minor-class accuracy, with and without LA
    # every metric in one order (the method tested first) and one unit, as the app's verdicts read
    assert "balanced test accuracy: MFW vs ERM: " in printed
    assert "test accuracy of the minor classes: MFW + LA vs ERM + LA: " in printed
    verdicts = [line for line in printed.splitlines() if "seed noise" in line]
    assert all(" vs " in line and " points" in line for line in verdicts) and "differs" not in printed
    saved = json.loads(out.read_text())
    assert saved["seeds"] == [0, 1] and len(saved["verdicts"]) == 4 and saved["verdicts"][0]["n"] == 2


@pytest.mark.parametrize("args, message", [
    (["train", "--seeds", "0"], "seeds='0': expected a count from 1 to 64"),
    (["train", "--seeds", "1,1"], "each seed once"),
    (["train", "--seeds", "a,b"], "expected a count (5) or a list"),
    (["compare", "--b", "magic", "--seeds", "2"], "method='magic': expected erm or one of"),
])
def test_bad_seeds_and_methods_are_one_line(args, message, capsys, tmp_path):
    assert main([*args, "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())
