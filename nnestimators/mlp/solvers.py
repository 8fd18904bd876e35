"""MLP's solvers as torch optimizers that skorch's loop steps.

``MLPSGD`` and ``MLPAdam`` make scikit-learn's updates exactly, which
``torch.optim`` does not: torch's SGD keeps a momentum buffer without the
learning rate, so a changed rate (``invscaling``, ``adaptive``) rescales the
velocity MLP has already accumulated; torch's Adam adds ``epsilon`` after
rescaling by ``sqrt(1 - beta_2**t)``, which changes the step wherever the
gradients are near ``epsilon`` (dead units, blank pixels). ``ScipyLBFGS``
runs scipy's L-BFGS-B as MLP calls it, as one ``step(closure)``.

They are ``torch.optim.Optimizer`` subclasses (skorch registers and steps
those) whose construction, ``zero_grad`` and ``step`` skip torch's wrappers
that import ``torch._dynamo``: the first fit of a process does not pay for
torch's compiler stack (2-3 s).
"""

import math

import numpy as np
import scipy.optimize
import torch


class _PlainOptimizer(torch.optim.Optimizer):
    """A torch optimizer without the ``torch._dynamo`` import on first use."""

    def add_param_group(self, param_group):
        params = param_group["params"]
        params = [params] if isinstance(params, torch.Tensor) else list(params)
        self.param_groups.append({**self.defaults, **param_group, "params": params})

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for param in group["params"]:
                param.grad = None

    def state_dict(self):
        return torch.optim.Optimizer.state_dict.__wrapped__(self)

    def load_state_dict(self, state_dict):
        return torch.optim.Optimizer.load_state_dict.__wrapped__(self, state_dict)

    @property
    def learning_rate(self):
        """The current learning rate, the name MLP's solver objects use."""
        return self.param_groups[0]["lr"]

    def _with_grads(self, group):
        return [p for p in group["params"] if p.grad is not None]


def _closure_loss(closure):
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


class MLPSGD(_PlainOptimizer):
    """scikit-learn's SGD: ``v = momentum * v - lr * g``, then ``p += v``
    (with Nesterov: ``p += momentum * v - lr * g``).

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default=0.1
        Learning rate.
    momentum : float, default=0.9
        Momentum in [0, 1].
    nesterov : bool, default=True
        Whether to use Nesterov's momentum.
    """

    def __init__(self, params, lr=0.1, momentum=0.9, nesterov=True):
        defaults = {"lr": lr, "momentum": momentum, "nesterov": nesterov}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """Make one update from the gradients; return the closure's loss."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            params = self._with_grads(group)
            if not params:
                continue
            grads = [p.grad for p in params]
            lr, momentum = group["lr"], group["momentum"]
            if momentum == 0:
                torch._foreach_add_(params, grads, alpha=-lr)
                continue
            velocities = [self._velocity(p) for p in params]
            torch._foreach_mul_(velocities, momentum)
            torch._foreach_add_(velocities, grads, alpha=-lr)
            if group["nesterov"]:
                torch._foreach_add_(params, velocities, alpha=momentum)
                torch._foreach_add_(params, grads, alpha=-lr)
            else:
                torch._foreach_add_(params, velocities)
        return loss

    def _velocity(self, param):
        state = self.state[param]
        if "velocity" not in state:
            state["velocity"] = torch.zeros_like(param)
        return state["velocity"]


class MLPAdam(_PlainOptimizer):
    """scikit-learn's Adam: ``p -= lr * sqrt(1 - b2**t) / (1 - b1**t) * m / (sqrt(v) + eps)``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default=0.001
        Learning rate.
    betas : tuple of float, default=(0.9, 0.999)
        Decay rates of the first and second moment estimates.
    eps : float, default=1e-8
        Added to the square root of the second moment.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        """Make one update from the gradients; return the closure's loss."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            params = self._with_grads(group)
            if not params:
                continue
            beta_1, beta_2 = group["betas"]
            firsts, seconds = [], []
            for param in params:
                state = self.state[param]
                if "m" not in state:
                    state["m"] = torch.zeros_like(param)
                    state["v"] = torch.zeros_like(param)
                    state["step"] = 0
                state["step"] += 1
                firsts.append(state["m"])
                seconds.append(state["v"])
            t = self.state[params[0]]["step"]
            grads = [p.grad for p in params]
            torch._foreach_lerp_(firsts, grads, 1 - beta_1)
            torch._foreach_mul_(seconds, beta_2)
            torch._foreach_addcmul_(seconds, grads, grads, value=1 - beta_2)
            step_size = group["lr"] * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
            denominators = torch._foreach_sqrt(seconds)
            torch._foreach_add_(denominators, group["eps"])
            torch._foreach_addcdiv_(params, firsts, denominators, value=-step_size)
        return loss


class ScipyLBFGS(_PlainOptimizer):
    """scipy's L-BFGS-B over all parameters, run to the end in one ``step``.

    As scikit-learn's ``solver="lbfgs"``: ``maxiter``, ``maxfun`` and
    ``gtol`` are MLP's ``max_iter``, ``max_fun`` and ``tol``; the closure
    (skorch's training step: forward, loss, backward) gives the loss and
    its gradient at each point scipy asks for. ``result_`` is scipy's
    ``OptimizeResult`` of the last step.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default=1.0
        Unused (skorch passes one to every optimizer).
    max_iter : int, default=200
        Iterations.
    max_fun : int, default=15000
        Loss evaluations.
    tol : float, default=1e-4
        Tolerance on the projected gradient.
    """

    def __init__(self, params, lr=1.0, max_iter=200, max_fun=15000, tol=1e-4):
        defaults = {"lr": lr, "max_iter": max_iter, "max_fun": max_fun, "tol": tol}
        super().__init__(params, defaults)
        self.result_ = None

    def step(self, closure):
        """Minimise the closure's loss; return the loss at the solution."""
        params = [p for group in self.param_groups for p in group["params"]]
        group = self.param_groups[0]

        def loss_and_gradient(flat):
            _unflatten(flat, params)
            with torch.enable_grad():
                loss = closure()
            grads = [
                torch.zeros_like(p) if p.grad is None else p.grad.detach()
                for p in params
            ]
            return float(loss.detach()), _flatten(grads)

        self.result_ = scipy.optimize.minimize(
            loss_and_gradient,
            _flatten([p.detach() for p in params]),
            method="L-BFGS-B",
            jac=True,
            options={
                "maxfun": group["max_fun"],
                "maxiter": group["max_iter"],
                "gtol": group["tol"],
            },
        )
        _unflatten(self.result_.x, params)
        return torch.tensor(self.result_.fun)


def _flatten(tensors):
    return np.concatenate([t.reshape(-1).cpu().double().numpy() for t in tensors])


@torch.no_grad()
def _unflatten(flat, params):
    offset = 0
    for param in params:
        size = param.numel()
        chunk = torch.from_numpy(flat[offset : offset + size]).view(param.shape)
        param.copy_(chunk)
        offset += size


# torch wraps an optimizer class's step in a profiling hook when it is first
# built unless step.hooked is set: 20-40 us a step on small networks.
for _optimizer in (MLPSGD, MLPAdam):
    _optimizer.step.hooked = True
