"""Each loss against an independent NumPy computation; WGAN-GP and R1 against finite differences."""


import numpy as np
import pytest
import torch

from brushwork.training import adversarial as losses


R = np.array([0.3, -1.2, 2.0, 0.0])
F = np.array([-0.5, 0.8, -2.5, 1.1])


def sig(x):
    return 1 / (1 + np.exp(-x))


EXPECTED_D = {
    "minimax": np.mean(-np.log(sig(R))) + np.mean(-np.log(1 - sig(F))),
    "nonsat": np.mean(-np.log(sig(R))) + np.mean(-np.log(1 - sig(F))),
    "lsgan": 0.5 * np.mean((R - 1) ** 2) + 0.5 * np.mean(F**2),
    "wgan": np.mean(F) - np.mean(R),
    "wgan-gp": np.mean(F) - np.mean(R),
    "hinge": np.mean(np.maximum(0, 1 - R)) + np.mean(np.maximum(0, 1 + F)),
}
EXPECTED_G = {
    "minimax": np.mean(np.log(1 - sig(F))),
    "nonsat": np.mean(-np.log(sig(F))),
    "lsgan": 0.5 * np.mean((F - 1) ** 2),
    "wgan": -np.mean(F),
    "wgan-gp": -np.mean(F),
    "hinge": -np.mean(F),
}


@pytest.mark.parametrize("kind", losses.LOSS_KINDS)
def test_losses_match_numpy(kind):
    r = torch.tensor(R, dtype=torch.float64, requires_grad=True)
    f = torch.tensor(F, dtype=torch.float64, requires_grad=True)
    d = losses.d_loss(kind, r, f)
    g = losses.g_loss(kind, f)
    assert d.item() == pytest.approx(EXPECTED_D[kind], rel=1e-9)
    assert g.item() == pytest.approx(EXPECTED_G[kind], rel=1e-9)
    (d + g).backward()
    assert torch.isfinite(r.grad).all() and torch.isfinite(f.grad).all()


def test_saturating_losses_are_stable_for_large_logits():
    big = torch.tensor([80.0, -80.0])
    assert torch.isfinite(losses.d_loss("minimax", big, -big))
    assert torch.isfinite(losses.g_loss("nonsat", -big))


def test_unknown_loss():
    with pytest.raises(ValueError):
        losses.d_loss("nope", torch.zeros(1), torch.zeros(1))


def _critic():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)).double()
    return lambda x: net(x).squeeze(1), net


def _fd_grad(fn, x, eps=1e-6):
    g = torch.zeros_like(x)
    for i in range(x.numel()):
        e = torch.zeros_like(x).view(-1)
        e[i] = eps
        e = e.view_as(x)
        g.view(-1)[i] = (fn(x + e) - fn(x - e)) / (2 * eps)
    return g


def test_gradient_penalty_against_finite_differences():
    critic, _ = _critic()
    torch.manual_seed(1)
    real, fake = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    alpha = torch.rand(4, dtype=torch.float64)
    gp = losses.gradient_penalty(critic, real, fake, alpha)
    x_hat = alpha[:, None] * real + (1 - alpha[:, None]) * fake
    with torch.no_grad():
        grads = torch.stack([_fd_grad(lambda v: critic(v[None])[0], x_hat[i]) for i in range(4)])
    expected = ((grads.norm(dim=1) - 1) ** 2).mean()
    assert gp.item() == pytest.approx(expected.item(), rel=1e-6)


def test_gradient_penalty_is_differentiable_in_critic_weights():
    critic, net = _critic()
    real, fake = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    losses.gradient_penalty(critic, real, fake, torch.full((4,), 0.5, dtype=torch.float64)).backward()
    weights = [p for p in net.parameters() if p.dim() == 2]  # the output bias cannot affect input gradients
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)


def test_r1_against_finite_differences():
    critic, _ = _critic()
    real = torch.randn(3, 3, dtype=torch.float64)
    r1 = losses.r1_penalty(critic, real)
    with torch.no_grad():
        grads = torch.stack([_fd_grad(lambda v: critic(v[None])[0], real[i]) for i in range(3)])
    assert r1.item() == pytest.approx((grads**2).sum(dim=1).mean().item(), rel=1e-6)


def test_linear_critic_gradient_penalty_closed_form():
    w = torch.tensor([3.0, 4.0], dtype=torch.float64)  # |grad| = 5 everywhere
    gp = losses.gradient_penalty(lambda x: x @ w, torch.randn(6, 2, dtype=torch.float64), torch.randn(6, 2, dtype=torch.float64), torch.rand(6, dtype=torch.float64))
    assert gp.item() == pytest.approx(16.0)


def test_clip_weights():
    net = torch.nn.Linear(4, 4)
    with torch.no_grad():
        net.weight.mul_(100)
    losses.clip_weights(net, 0.01)
    assert all(p.abs().max() <= 0.01 for p in net.parameters())
