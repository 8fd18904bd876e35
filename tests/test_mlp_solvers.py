"""MLP's solvers as torch optimizers: MLP's formulas, where torch's differ."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from nnestimators.mlp.solvers import MLPSGD, MLPAdam, ScipyLBFGS


def _steps(optimizer_class, grads, rates=None, **settings):
    param = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    optimizer = optimizer_class([param], **settings)
    for i, grad in enumerate(grads):
        if rates is not None:
            optimizer.param_groups[0]["lr"] = rates[i]
        param.grad = torch.tensor(grad, dtype=torch.float64)
        optimizer.step()
    return param.detach().numpy()


def test_sgd_momentum_keeps_the_rate_in_the_velocity_as_mlp_does():
    grads = np.random.RandomState(0).normal(size=(6, 3))
    rates = [0.5, 0.5, 0.1, 0.1, 0.02, 0.02]  # a schedule that changes the rate
    ours = _steps(MLPSGD, grads, rates, lr=0.5, momentum=0.9, nesterov=True)
    velocity, param = np.zeros(3), np.zeros(3)
    for rate, grad in zip(rates, grads):
        velocity = 0.9 * velocity - rate * grad
        param = param + 0.9 * velocity - rate * grad
    np.testing.assert_allclose(ours, param, rtol=1e-12)
    torchs = _steps(torch.optim.SGD, grads, rates, lr=0.5, momentum=0.9, nesterov=True)
    assert np.abs(torchs - param).max() > 1e-2  # torch rescales the past


def test_adam_adds_epsilon_after_the_bias_correction_as_mlp_does():
    grads = np.full((5, 3), 1e-8)  # gradients the size of epsilon
    ours = _steps(MLPAdam, grads, lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    m, v, param = np.zeros(3), np.zeros(3), np.zeros(3)
    for t, grad in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        step = 0.1 * math.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        param = param - step * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(ours, param, rtol=1e-12)


def test_lbfgs_minimises_in_one_step_and_reports_scipys_result():
    target = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    param = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    optimizer = ScipyLBFGS([param], max_iter=50, max_fun=100, tol=1e-10)

    def closure():
        optimizer.zero_grad()
        loss = ((param - target) ** 2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    np.testing.assert_allclose(param.detach().numpy(), target.numpy(), atol=1e-6)
    assert optimizer.result_.success and optimizer.learning_rate == 1.0


def test_the_state_round_trips_for_partial_fit_after_loading():
    param = torch.ones(2, requires_grad=True)
    optimizer = MLPAdam([param], lr=0.1)
    param.grad = torch.ones(2)
    optimizer.step()
    copy = MLPAdam([torch.ones(2, requires_grad=True)], lr=0.1)
    copy.load_state_dict(optimizer.state_dict())
    assert copy.state_dict()["state"][0]["step"] == 1


@pytest.mark.slow
def test_a_first_fit_does_not_import_torchs_compiler_stack():
    code = (
        "import sys, numpy as np\n"
        "from nnestimators import MLPClassifier\n"
        "X = np.random.RandomState(0).rand(40, 3); y = np.arange(40) % 2\n"
        "MLPClassifier((4,), max_iter=3).fit(X, y)\n"
        "MLPClassifier((4,), solver='sgd', max_iter=3).fit(X, y)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert result.stdout.strip() == "False"
