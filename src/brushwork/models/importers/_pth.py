"""Reading published PyTorch ``.pth`` state dicts safely, and checking them against a key list.

Used by the importers of this package. A ``.pth`` is read with ``torch.load(weights_only=True)``
only: a file whose pickle names anything beyond tensors and plain containers (a class, a
function) is refused before any of it runs, and nothing is loaded.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Mapping, Sequence

import torch

from ...errors import BrushworkError

Shapes = Mapping[str, Sequence[int]]
_GLOBAL = re.compile(r"GLOBAL\s+([\w.]+)")
_OPCODE = re.compile(r"Unsupported operand \d+")


def read_state_dict(path: Path, what: str) -> dict[str, torch.Tensor]:
    """The ``{key: tensor}`` state dict stored in the ``.pth`` file ``path``.

    Args:
        path: the file (zip or legacy format).
        what: what the file should be, for the messages (``"a pytorch/examples TransformerNet"``).

    Returns a flat dict of tensors; a ``module.`` prefix on every key (``nn.DataParallel``)
    is removed, and a ``{"state_dict": {...}}`` wrapper unwrapped.

    Raises:
        BrushworkError (one line): no such file; a pickle that names a global beyond tensors
            (refused, the global named, nothing loaded or run); a file that is not a
            readable ``.pth``; one that holds something other than a dict of tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise BrushworkError(f"{path}: no such file (expected {what} .pth state dict)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = _GLOBAL.search(str(exc))
        if found:
            raise BrushworkError(f"{path}: refused (its pickle calls {found.group(1)}; only tensors are read, with "
                                 "torch.load(weights_only=True)); nothing was loaded") from None
        opcode = _OPCODE.search(str(exc))
        detail = opcode.group(0).lower() if opcode else "not a tensor pickle"
        raise BrushworkError(f"{path}: not a readable PyTorch .pth file ({detail}); nothing was loaded; expected {what} state dict") from None
    except Exception as exc:  # noqa: BLE001 - any decoding failure means "not a .pth"
        raise BrushworkError(f"{path}: not a readable PyTorch .pth file ({type(exc).__name__}); expected {what} state dict") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state:
        raise BrushworkError(f"{path}: holds a {type(state).__name__}, not a state dict; expected {what} state dict")
    bad = [str(k) for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise BrushworkError(f"{path}: not a state dict of tensors (entries {', '.join(bad[:3])}); expected {what} state dict")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _listed(keys: Sequence[str], n: int = 3) -> str:
    more = f" and {len(keys) - n} more" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def check_keys(state: Mapping[str, torch.Tensor], expected: Shapes, where: Path | str, what: str) -> None:
    """BrushworkError (one line) unless ``state`` has exactly the keys of ``expected``, each
    with its shape; the first few missing, unexpected and mis-shaped keys are named."""
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    shaped = [f"{k} {tuple(state[k].shape)} (expected {tuple(expected[k])})" for k in expected
              if k in state and tuple(state[k].shape) != tuple(expected[k])]
    problems = []
    if missing:
        problems.append(f"missing {_listed(missing)}")
    if extra:
        problems.append(f"unexpected {_listed(extra)}")
    if shaped:
        problems.append(f"mis-shaped {_listed(shaped, 2)}")
    if problems:
        raise BrushworkError(f"{where}: not {what} state dict ({'; '.join(problems)})")


def float_tensors(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every tensor as a contiguous float32 copy (published files are float32, some float16)."""
    return {k: v.detach().to(torch.float32).contiguous().clone() for k, v in state.items()}
