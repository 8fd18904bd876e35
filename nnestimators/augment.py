"""On-the-fly augmentation of image batches, in plain torch.

Every augmentation is a small picklable object called on a float batch of
shape ``(N, C, H, W)`` (or ``(N, H, W)``) on any device; it returns a new
batch of the same shape, dtype and device, transformed sample by sample
without a Python loop. Randomness comes from torch's global random number
generator of the batch's device, so ``torch.manual_seed`` makes results
reproducible, or from the ``generator`` passed to the call.

The constructors only store their arguments, under the same names, and
``get_params``/``set_params`` work as in scikit-learn, so an augmentation is
described by its import path and parameters and can be cloned and tuned.
"""

import inspect
import math
import numbers

import torch
import torch.nn.functional as F

__all__ = [
    "Augmentation",
    "RandomFlip",
    "RandomShift",
    "RandomRotation",
    "GaussianNoise",
    "Compose",
]

# Padding names shared by the augmentations, mapped to each torch function's.
_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate"}
_GRID_PADDING = {"zeros": "zeros", "reflect": "reflection", "replicate": "border"}


class Augmentation:
    """Base class of the augmentations: parameters, validation and batch checks.

    Subclasses store their constructor arguments as attributes of the same
    name, check them in ``_check_params`` and transform a 4-D batch in
    ``_transform(images, generator)``.
    """

    def __call__(self, batch, generator=None):
        """Return an augmented copy of ``batch``.

        Parameters
        ----------
        batch : torch.Tensor
            Floating-point images of shape ``(N, C, H, W)`` or ``(N, H, W)``.
        generator : torch.Generator, optional
            Source of randomness; torch's global generator of the batch's
            device when None.

        Returns
        -------
        torch.Tensor
            Tensor of the same shape, dtype and device as ``batch``. A no-op
            setting (such as ``p=0``) may return ``batch`` itself.
        """
        images = _as_4d(batch)
        self._check_params()
        if images.numel() == 0:  # nothing to transform; some torch ops refuse
            return batch
        return self._transform(images, generator).reshape(batch.shape)

    def _check_params(self):
        pass

    def _transform(self, images, generator):
        raise NotImplementedError

    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self, deep=True):
        """Return the constructor parameters as a dict.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of parameters that have
            ``get_params``, as ``name__param`` (scikit-learn's convention).

        Returns
        -------
        dict
            Parameter names mapped to their values.
        """
        params = {name: getattr(self, name) for name in self._param_names()}
        if deep:
            for name, value in list(params.items()):
                if hasattr(value, "get_params") and not isinstance(value, type):
                    for key, sub_value in value.get_params(deep=True).items():
                        params[f"{name}__{key}"] = sub_value
        return params

    def set_params(self, **params):
        """Set constructor parameters and check them.

        Parameters
        ----------
        **params
            New values, by parameter name.

        Returns
        -------
        self
            The augmentation itself.
        """
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"{name!r} is not a parameter of {type(self).__name__}; "
                    f"valid parameters are {valid}."
                )
            setattr(self, name, value)
        self._check_params()
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"


class RandomFlip(Augmentation):
    """Flip images horizontally and/or vertically at random.

    Each enabled direction is decided independently for every sample.

    Parameters
    ----------
    horizontal : bool, default=True
        Whether to mirror images left-right.
    vertical : bool, default=False
        Whether to mirror images top-bottom.
    p : float, default=0.5
        Probability that a sample is flipped in each enabled direction.

    Examples
    --------
    >>> import torch
    >>> from nnestimators.augment import RandomFlip
    >>> images = torch.arange(4.0).reshape(1, 1, 2, 2)
    >>> RandomFlip(p=1.0)(images)
    tensor([[[[1., 0.],
              [3., 2.]]]])
    """

    def __init__(self, horizontal=True, vertical=False, p=0.5):
        self.horizontal = horizontal
        self.vertical = vertical
        self.p = p
        self._check_params()

    def _check_params(self):
        for name in ("horizontal", "vertical"):
            if getattr(self, name) not in (True, False):
                raise ValueError(
                    f"{name} must be True or False, got {getattr(self, name)!r}."
                )
        _check_real("p", self.p, 0.0, 1.0)

    def _transform(self, images, generator):
        if self.horizontal:
            images = self._flip_some(images, -1, generator)
        if self.vertical:
            images = self._flip_some(images, -2, generator)
        return images

    def _flip_some(self, images, dim, generator):
        chosen = _uniform(len(images), 0.0, 1.0, images, generator) < self.p
        return torch.where(chosen.view(-1, 1, 1, 1), images.flip(dim), images)


class RandomShift(Augmentation):
    """Translate images by a random whole number of pixels.

    Each sample moves by its own vertical and horizontal offsets, drawn
    uniformly from ``-max_shift`` to ``max_shift``; the uncovered border is
    filled according to ``padding``. This is the usual "pad and randomly
    crop back to size" augmentation.

    Parameters
    ----------
    max_shift : int, default=2
        Largest offset, in pixels, along each axis.
    padding : {"zeros", "reflect", "replicate"}, default="zeros"
        How to fill the uncovered border: zeros, the mirrored image, or the
        repeated edge pixels. ``"reflect"`` needs ``max_shift`` smaller than
        the image height and width.

    Examples
    --------
    >>> import torch
    >>> from nnestimators.augment import RandomShift
    >>> _ = torch.manual_seed(0)
    >>> images = torch.rand(16, 1, 8, 8)
    >>> shifted = RandomShift(max_shift=2)(images)
    >>> shifted.shape
    torch.Size([16, 1, 8, 8])
    """

    def __init__(self, max_shift=2, padding="zeros"):
        self.max_shift = max_shift
        self.padding = padding
        self._check_params()

    def _check_params(self):
        _check_int("max_shift", self.max_shift, 0)
        _check_choice("padding", self.padding, _PAD_MODES)

    def _transform(self, images, generator):
        shift = self.max_shift
        if shift == 0:
            return images
        n, c, height, width = images.shape
        if self.padding == "reflect" and shift >= min(height, width):
            raise ValueError(
                f"padding='reflect' needs max_shift={shift} smaller than the "
                f"image size {height}x{width}."
            )
        padded = F.pad(images, (shift,) * 4, mode=_PAD_MODES[self.padding])
        # Output pixel i reads padded pixel i + shift - offset, so the content
        # moves by +offset; the two gathers crop rows, then columns.
        rows = self._source_index(height, n, images, generator)
        cols = self._source_index(width, n, images, generator)
        rows_kept = padded.gather(
            2, rows.view(n, 1, height, 1).expand(-1, c, -1, padded.shape[3])
        )
        return rows_kept.gather(3, cols.view(n, 1, 1, width).expand(-1, c, height, -1))

    def _source_index(self, size, n, images, generator):
        shift = self.max_shift
        offsets = _randint(-shift, shift, n, images, generator)
        positions = torch.arange(size, device=images.device)
        return positions + shift - offsets.view(n, 1)


class RandomRotation(Augmentation):
    """Rotate images by a small random angle about their centre.

    Each sample gets its own angle, drawn uniformly from ``-degrees`` to
    ``degrees``, and is resampled with bilinear interpolation.

    Parameters
    ----------
    degrees : float, default=10.0
        Largest rotation, in degrees, either way (at most 180).
    padding : {"zeros", "reflect", "replicate"}, default="zeros"
        How to fill the corners that come from outside the image.

    Examples
    --------
    >>> import torch
    >>> from nnestimators.augment import RandomRotation
    >>> _ = torch.manual_seed(0)
    >>> images = torch.rand(16, 3, 28, 28)
    >>> RandomRotation(degrees=15.0)(images).shape
    torch.Size([16, 3, 28, 28])
    """

    def __init__(self, degrees=10.0, padding="zeros"):
        self.degrees = degrees
        self.padding = padding
        self._check_params()

    def _check_params(self):
        _check_real("degrees", self.degrees, 0.0, 180.0)
        _check_choice("padding", self.padding, _GRID_PADDING)

    def _transform(self, images, generator):
        if self.degrees == 0:
            return images
        n, _, height, width = images.shape
        # grid_sample has no half-precision CPU kernel: compute in float32.
        dtype = images.dtype if images.dtype == torch.float64 else torch.float32
        limit = math.radians(self.degrees)
        angles = _uniform(n, -limit, limit, images, generator).to(dtype)
        cos, sin = angles.cos(), angles.sin()
        zeros = torch.zeros_like(cos)
        # A rotation in pixels, written in grid_sample's coordinates where
        # each axis spans [-1, 1]: the aspect ratio keeps non-square images
        # from being sheared.
        theta = torch.stack(
            [
                torch.stack([cos, -sin * (height / width), zeros], dim=1),
                torch.stack([sin * (width / height), cos, zeros], dim=1),
            ],
            dim=1,
        )
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        rotated = F.grid_sample(
            images.to(dtype),
            grid,
            mode="bilinear",
            padding_mode=_GRID_PADDING[self.padding],
            align_corners=False,
        )
        return rotated.to(images.dtype)


class GaussianNoise(Augmentation):
    """Add independent Gaussian noise to every pixel.

    Parameters
    ----------
    std : float, default=0.05
        Standard deviation of the noise, in the units of the pixel values.

    Examples
    --------
    >>> import torch
    >>> from nnestimators.augment import GaussianNoise
    >>> _ = torch.manual_seed(0)
    >>> noisy = GaussianNoise(std=0.1)(torch.zeros(64, 1, 8, 8))
    >>> round(noisy.std().item(), 1)
    0.1
    """

    def __init__(self, std=0.05):
        self.std = std
        self._check_params()

    def _check_params(self):
        _check_real("std", self.std, 0.0, math.inf)

    def _transform(self, images, generator):
        if self.std == 0:
            return images
        device = images.device if generator is None else generator.device
        noise = torch.randn(
            images.shape, generator=generator, device=device, dtype=images.dtype
        )
        return images + self.std * noise.to(images.device)


class Compose(Augmentation):
    """Apply several augmentations one after the other.

    Parameters
    ----------
    steps : list or tuple of callable
        Augmentations applied in order; any callable taking and returning a
        batch works (it is then called without ``generator``).

    Examples
    --------
    >>> import torch
    >>> from nnestimators.augment import Compose, GaussianNoise, RandomShift
    >>> augment = Compose([RandomShift(max_shift=1), GaussianNoise(std=0.05)])
    >>> augment
    Compose(steps=[RandomShift(max_shift=1, padding='zeros'), GaussianNoise(std=0.05)])
    >>> augment(torch.zeros(8, 1, 8, 8)).shape
    torch.Size([8, 1, 8, 8])
    """

    def __init__(self, steps):
        self.steps = steps
        self._check_params()

    def _check_params(self):
        if not isinstance(self.steps, (list, tuple)):
            raise ValueError(
                f"steps must be a list or tuple of callables, got {self.steps!r}."
            )
        for step in self.steps:
            if not callable(step):
                raise ValueError(f"every step must be callable, got {step!r}.")

    def __call__(self, batch, generator=None):
        """Return ``batch`` passed through every step in order.

        Parameters
        ----------
        batch : torch.Tensor
            Floating-point images of shape ``(N, C, H, W)`` or ``(N, H, W)``.
        generator : torch.Generator, optional
            Source of randomness handed to every step; torch's global
            generator when None.

        Returns
        -------
        torch.Tensor
            The augmented batch.
        """
        self._check_params()
        for step in self.steps:
            # Only this module's augmentations take a generator.
            if generator is None or not isinstance(step, Augmentation):
                batch = step(batch)
            else:
                batch = step(batch, generator=generator)
        return batch


def _as_4d(batch):
    if not isinstance(batch, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor batch, got {type(batch).__name__}.")
    if not batch.is_floating_point():
        raise TypeError(f"expected a floating-point batch, got dtype {batch.dtype}.")
    if batch.dim() == 3:
        return batch.unsqueeze(1)
    if batch.dim() != 4:
        raise ValueError(
            f"expected a batch of shape (N, C, H, W) or (N, H, W), "
            f"got shape {tuple(batch.shape)}."
        )
    return batch


def _uniform(n, low, high, images, generator):
    # Draw on the generator's device (the batch's by default), then move:
    # a CPU generator can then drive a batch on an accelerator.
    device = images.device if generator is None else generator.device
    values = torch.rand(n, generator=generator, device=device)
    return (low + (high - low) * values).to(images.device)


def _randint(low, high, n, images, generator):
    device = images.device if generator is None else generator.device
    values = torch.randint(low, high + 1, (n,), generator=generator, device=device)
    return values.to(images.device)


def _check_real(name, value, low, high):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not low <= value <= high
    ):
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}.")


def _check_int(name, value, low):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < low
    ):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")


def _check_choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}.")
