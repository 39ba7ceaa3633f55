"""Every trainer implements the named trainer protocol (training.trainer.TrainerProtocol)."""

import pytest

from brushwork.gan.trainer import GANTrainer
from brushwork.training.trainer import SingleNetworkRun, TrainerProtocol
from brushwork.translate.train import TranslateTrainer

METHODS = ("restore", "begin", "close", "step", "state", "save", "periodic")


@pytest.mark.parametrize("cls", [GANTrainer, TranslateTrainer])
def test_trainers_have_every_protocol_method(cls):
    declared = {name for name in vars(TrainerProtocol) if not name.startswith("_")} - {"desc"}
    assert set(METHODS) <= declared
    for name in METHODS:
        assert callable(getattr(cls, name, None)), f"{cls.__name__} lacks {name}"


def test_single_network_run_is_a_trainer(tmp_path):
    from brushwork.training.trainer import Schedule, Trainer

    t = Trainer(step=lambda k: {}, state=lambda: ({}, {}, {}), save_model=lambda *a: None, preview=lambda: (None, {}), desc="x")
    run = SingleNetworkRun(tmp_path, {}, t, Schedule(1, 1, 1, 1), emit=lambda e, d: None)
    assert isinstance(run, TrainerProtocol) and run.desc == "x"
