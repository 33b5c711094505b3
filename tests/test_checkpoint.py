"""Checkpoint folders: identical outputs after a round trip, clear errors for broken ones."""

import json
import shutil

import pytest
import torch

from latentlab.checkpoint import load_checkpoint, save_checkpoint
from latentlab.errors import LatentLabError
from latentlab.model import DrumVAE, ModelConfig

TINY = ModelConfig(z_dim=8, encoder_hidden=16, decoder_hidden=24, conductor_hidden=8)


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = DrumVAE(TINY).eval()
    folder = save_checkpoint(model, tmp_path / "ckpt", {"training": {"seed": 0}})
    return model, folder


def test_round_trip_gives_identical_outputs(saved):
    model, folder = saved
    loaded, config = load_checkpoint(folder, "cpu")
    assert config["training"] == {"seed": 0} and config["model"]["z_dim"] == 8
    z = torch.randn(3, 8)
    assert torch.equal(model.generate(z), loaded.generate(z))
    x = torch.rand(2, 32, 27)
    with torch.no_grad():
        assert torch.equal(model.encode(x)[0], loaded.encode(x)[0])


def test_checkpoint_holds_no_pickle(saved):
    _, folder = saved
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    assert not (folder / "model.safetensors").read_bytes().startswith(b"\x80")


def _break(folder, how):
    weights, config = folder / "model.safetensors", folder / "config.json"
    if how == "missing folder":
        shutil.rmtree(folder)
    elif how == "missing config":
        config.unlink()
    elif how == "missing weights":
        weights.unlink()
    elif how == "bad json":
        config.write_text("{not json")
    elif how == "wrong version":
        config.write_text(json.dumps({**json.loads(config.read_text()), "format_version": 99}))
    elif how == "unknown setting":
        data = json.loads(config.read_text())
        data["model"]["colour"] = "red"
        config.write_text(json.dumps(data))
    elif how == "mismatched shapes":
        data = json.loads(config.read_text())
        data["model"]["z_dim"] = 12
        config.write_text(json.dumps(data))
    elif how == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:1000])


@pytest.mark.parametrize(
    "how,message",
    [
        ("missing folder", "checkpoint folder does not exist"),
        ("missing config", "config.json: missing"),
        ("missing weights", "model.safetensors: missing"),
        ("bad json", "not valid JSON"),
        ("wrong version", "format_version 99 is not supported"),
        ("unknown setting", "unknown model setting 'colour'"),
        ("mismatched shapes", "has shape"),
        ("truncated weights", "truncated or corrupt"),
    ],
)
def test_broken_checkpoints_give_clear_errors(saved, how, message):
    _, folder = saved
    _break(folder, how)
    with pytest.raises(LatentLabError, match=message):
        load_checkpoint(folder, "cpu")
