"""Tests for the batch image augmentations."""

import pickle

import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone

from nnestimators.augment import (
    Compose,
    GaussianNoise,
    RandomFlip,
    RandomRotation,
    RandomShift,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def all_augmentations():
    return [
        RandomFlip(),
        RandomFlip(horizontal=False, vertical=True, p=0.7),
        RandomShift(max_shift=2),
        RandomShift(max_shift=1, padding="reflect"),
        RandomShift(max_shift=3, padding="replicate"),
        RandomRotation(degrees=20.0),
        RandomRotation(degrees=5.0, padding="replicate"),
        GaussianNoise(std=0.1),
        Compose([RandomFlip(), RandomShift(), RandomRotation(), GaussianNoise()]),
    ]


AUGMENTATIONS = pytest.mark.parametrize("augment", all_augmentations(), ids=repr)


def random_images(*shape, seed=0, dtype=torch.float32, device="cpu"):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=generator, dtype=dtype).to(device)


@AUGMENTATIONS
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(16, 1, 8, 8), (8, 3, 28, 28), (4, 2, 5, 9)])
def test_keeps_shape_dtype_and_device(augment, device, dtype, shape):
    images = random_images(*shape, dtype=dtype, device=device)
    before = images.clone()
    out = augment(images)
    assert out.shape == images.shape
    assert out.dtype == dtype
    assert out.device == images.device
    assert torch.equal(images, before), "the input must not be modified"


@AUGMENTATIONS
def test_three_dim_batches_and_empty_batches(augment):
    images = random_images(6, 8, 8)
    assert augment(images).shape == (6, 8, 8)
    assert augment(torch.zeros(0, 1, 8, 8)).shape == (0, 1, 8, 8)


@AUGMENTATIONS
def test_same_seed_same_output(augment):
    images = random_images(32, 3, 8, 8)
    torch.manual_seed(123)
    first = augment(images)
    torch.manual_seed(123)
    second = augment(images)
    torch.manual_seed(456)
    other = augment(images)
    assert torch.equal(first, second)
    assert not torch.equal(first, other)


@AUGMENTATIONS
def test_fork_rng_seeding_leaves_the_outer_stream_alone(augment):
    images = random_images(32, 1, 8, 8)
    torch.manual_seed(0)
    expected_next = torch.rand(3)
    torch.manual_seed(0)
    outs = []
    for _ in range(2):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(7)
            outs.append(augment(images))
    assert torch.equal(outs[0], outs[1])
    assert torch.equal(torch.rand(3), expected_next)


@AUGMENTATIONS
def test_generator_argument(augment):
    images = random_images(32, 1, 8, 8)
    torch.manual_seed(0)
    expected_next = torch.rand(3)
    torch.manual_seed(0)
    first = augment(images, generator=torch.Generator().manual_seed(5))
    second = augment(images, generator=torch.Generator().manual_seed(5))
    assert torch.equal(first, second)
    # The global generator was not consumed.
    assert torch.equal(torch.rand(3), expected_next)


@AUGMENTATIONS
def test_changes_images(augment):
    images = random_images(32, 1, 8, 8)
    torch.manual_seed(0)
    assert not torch.equal(augment(images), images)


@AUGMENTATIONS
def test_pickle_round_trip(augment):
    restored = pickle.loads(pickle.dumps(augment))
    assert type(restored) is type(augment)
    assert repr(restored) == repr(augment)
    images = random_images(16, 1, 8, 8)
    torch.manual_seed(3)
    expected = augment(images)
    torch.manual_seed(3)
    assert torch.equal(restored(images), expected)


@AUGMENTATIONS
def test_sklearn_clone(augment):
    cloned = clone(augment)
    assert cloned is not augment
    assert repr(cloned) == repr(augment)


def test_params_are_stored_under_their_names():
    assert RandomFlip(False, True, 0.3).get_params() == {
        "horizontal": False,
        "vertical": True,
        "p": 0.3,
    }
    assert RandomShift(1, "reflect").get_params() == {
        "max_shift": 1,
        "padding": "reflect",
    }
    assert RandomRotation(7.5).get_params() == {"degrees": 7.5, "padding": "zeros"}
    assert GaussianNoise(0.2).get_params() == {"std": 0.2}
    steps = [RandomFlip()]
    assert Compose(steps).steps is steps
    assert repr(RandomShift(3)) == "RandomShift(max_shift=3, padding='zeros')"


def test_set_params():
    flip = RandomFlip()
    assert flip.set_params(p=0.9, vertical=True) is flip
    assert (flip.p, flip.vertical) == (0.9, True)
    with pytest.raises(ValueError, match="not a parameter"):
        flip.set_params(q=0.1)
    with pytest.raises(ValueError, match="p must be"):
        flip.set_params(p=2.0)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: RandomFlip(p=1.5), "p must be"),
        (lambda: RandomFlip(p=-0.1), "p must be"),
        (lambda: RandomFlip(p="half"), "p must be"),
        (lambda: RandomFlip(horizontal="yes"), "horizontal"),
        (lambda: RandomShift(max_shift=-1), "max_shift"),
        (lambda: RandomShift(max_shift=1.5), "max_shift"),
        (lambda: RandomShift(padding="wrap"), "padding"),
        (lambda: RandomRotation(degrees=-1.0), "degrees"),
        (lambda: RandomRotation(degrees=200.0), "degrees"),
        (lambda: RandomRotation(padding="circular"), "padding"),
        (lambda: GaussianNoise(std=-0.1), "std"),
        (lambda: Compose(RandomFlip()), "steps"),
        (lambda: Compose([RandomFlip(), 3]), "callable"),
    ],
)
def test_bad_parameters_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_parameters_changed_after_init_are_checked_at_call():
    flip = RandomFlip()
    flip.p = 3.0
    with pytest.raises(ValueError, match="p must be"):
        flip(random_images(2, 1, 4, 4))


def test_bad_batches():
    flip = RandomFlip()
    with pytest.raises(TypeError, match="torch.Tensor"):
        flip(random_images(2, 1, 4, 4).numpy())
    with pytest.raises(TypeError, match="floating-point"):
        flip(torch.zeros(2, 1, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        flip(torch.zeros(4, 4))


# RandomFlip ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("horizontal", "vertical", "dims"),
    [(True, False, [-1]), (False, True, [-2]), (True, True, [-2, -1])],
)
def test_flip_with_p_one_is_torch_flip(horizontal, vertical, dims):
    images = random_images(8, 3, 6, 7)
    out = RandomFlip(horizontal=horizontal, vertical=vertical, p=1.0)(images)
    assert torch.equal(out, torch.flip(images, dims))


def test_flip_with_p_zero_is_identity():
    images = random_images(8, 3, 6, 7)
    assert torch.equal(
        RandomFlip(horizontal=True, vertical=True, p=0.0)(images), images
    )


def test_flip_chooses_samples_independently():
    images = random_images(400, 1, 4, 4)
    torch.manual_seed(0)
    out = RandomFlip(p=0.3)(images)
    flipped = torch.flip(images, [-1])
    is_flipped = (out == flipped).flatten(1).all(dim=1)
    is_kept = (out == images).flatten(1).all(dim=1)
    # Every sample is either exactly flipped or exactly kept.
    assert (is_flipped ^ is_kept).all()
    assert 0.2 < is_flipped.float().mean().item() < 0.4


# RandomShift --------------------------------------------------------------


def shifted(images, dy, dx, padding):
    # Reference: pad, then take the window that moves the content by (dy, dx).
    n = max(abs(dy), abs(dx), 1)
    mode = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate"}[
        padding
    ]
    padded = F.pad(images, (n, n, n, n), mode=mode)
    height, width = images.shape[-2:]
    return padded[..., n - dy : n - dy + height, n - dx : n - dx + width]


@pytest.mark.parametrize("padding", ["zeros", "reflect", "replicate"])
def test_shift_moves_each_sample_rigidly(padding):
    images = random_images(64, 2, 7, 9)
    torch.manual_seed(0)
    out = RandomShift(max_shift=2, padding=padding)(images)
    offsets = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
    # matches[k, i]: sample i was moved by offsets[k].
    matches = torch.stack(
        [
            (out == shifted(images, dy, dx, padding)).flatten(1).all(dim=1)
            for dy, dx in offsets
        ]
    )
    assert (matches.sum(dim=0) == 1).all()
    seen = {offsets[k] for k in matches.int().argmax(dim=0).tolist()}
    # Offsets are drawn per sample, covering the range.
    assert len(seen) > 12
    assert {dy for dy, _ in seen} == set(range(-2, 3))


def test_shift_moves_a_dot():
    images = torch.zeros(200, 1, 9, 9)
    images[:, :, 4, 4] = 1.0
    torch.manual_seed(0)
    out = RandomShift(max_shift=3)(images)
    # The dot stays whole (no interpolation) and lands within the range.
    assert torch.equal(out.sum(dim=(1, 2, 3)), torch.ones(200))
    rows, cols = out[:, 0].nonzero()[:, 1:].T
    assert set((rows - 4).tolist()) == set(range(-3, 4))
    assert set((cols - 4).tolist()) == set(range(-3, 4))


def test_shift_zero_is_identity():
    images = random_images(4, 1, 8, 8)
    assert torch.equal(RandomShift(max_shift=0)(images), images)


def test_reflect_shift_larger_than_the_image_is_a_clear_error():
    with pytest.raises(ValueError, match="smaller than the image size"):
        RandomShift(max_shift=4, padding="reflect")(random_images(2, 1, 4, 4))


# RandomRotation -----------------------------------------------------------


def center_of_mass(images):
    height, width = images.shape[-2:]
    rows = torch.arange(height, dtype=images.dtype).view(-1, 1)
    cols = torch.arange(width, dtype=images.dtype).view(1, -1)
    mass = images.sum(dim=(-2, -1))
    return (images * rows).sum(dim=(-2, -1)) / mass, (images * cols).sum(
        dim=(-2, -1)
    ) / mass


@pytest.mark.parametrize(("height", "width"), [(21, 21), (21, 41), (41, 21)])
def test_rotation_turns_a_dot_about_the_centre(height, width):
    images = torch.zeros(64, 1, height, width, dtype=torch.float64)
    cy, cx = (height - 1) / 2, (width - 1) / 2
    images[:, :, int(cy), int(cx) + 8] = 1.0
    torch.manual_seed(0)
    out = RandomRotation(degrees=30.0)(images)
    rows, cols = center_of_mass(out[:, 0])
    # Distance to the centre is kept (no shear on non-square images) ...
    radius = torch.hypot(rows - cy, cols - cx)
    assert torch.allclose(radius, torch.full_like(radius, 8.0), atol=0.15)
    # ... and angles spread over [-30, 30] degrees.
    angles = torch.rad2deg(torch.atan2(rows - cy, cols - cx))
    assert angles.abs().max() < 31.0
    assert angles.min() < -20.0 and angles.max() > 20.0


def test_rotation_zero_is_identity():
    images = random_images(4, 3, 8, 8)
    assert torch.equal(RandomRotation(degrees=0.0)(images), images)


def test_rotation_keeps_constant_images_with_replicate_padding():
    images = torch.full((8, 1, 10, 10), 0.7)
    torch.manual_seed(0)
    out = RandomRotation(degrees=45.0, padding="replicate")(images)
    torch.testing.assert_close(out, images)
    # With zeros padding, the corners come from outside the image.
    zeros = RandomRotation(degrees=45.0)(images)
    assert zeros.sum() < images.sum()


def test_rotation_in_half_precision():
    images = random_images(4, 1, 8, 8).half()
    assert RandomRotation()(images).dtype == torch.float16


# GaussianNoise ------------------------------------------------------------


def test_noise_has_the_requested_std():
    images = random_images(64, 3, 16, 16)
    torch.manual_seed(0)
    noise = GaussianNoise(std=0.2)(images) - images
    assert abs(noise.std().item() - 0.2) < 0.01
    assert abs(noise.mean().item()) < 0.01


def test_noise_zero_is_identity():
    images = random_images(4, 1, 8, 8)
    assert torch.equal(GaussianNoise(std=0.0)(images), images)


# Compose ------------------------------------------------------------------


class Record:
    """A deterministic step that logs its name and adds a constant."""

    def __init__(self, name, log, value):
        self.name, self.log, self.value = name, log, value

    def __call__(self, batch):
        self.log.append(self.name)
        return batch + self.value


def test_compose_applies_steps_in_order():
    log = []
    images = random_images(4, 1, 6, 6)
    out = Compose([Record("a", log, 1.0), Record("b", log, 2.0)])(images)
    assert log == ["a", "b"]
    torch.testing.assert_close(out, images + 3.0)

    # Order matters when the steps do not commute.
    ramp = torch.arange(6.0)

    def add_ramp(batch):
        return batch + ramp

    flip = RandomFlip(p=1.0)
    flip_then_ramp = Compose([flip, add_ramp])(images)
    ramp_then_flip = Compose([add_ramp, flip])(images)
    torch.testing.assert_close(flip_then_ramp, torch.flip(images, [-1]) + ramp)
    torch.testing.assert_close(ramp_then_flip, torch.flip(images + ramp, [-1]))
    assert not torch.equal(flip_then_ramp, ramp_then_flip)


def test_compose_equals_its_steps_in_sequence():
    steps = [RandomShift(max_shift=1), RandomRotation(degrees=10.0), GaussianNoise()]
    images = random_images(16, 1, 8, 8)
    torch.manual_seed(9)
    expected = images
    for step in steps:
        expected = step(expected)
    torch.manual_seed(9)
    assert torch.equal(Compose(steps)(images), expected)


def test_compose_hands_the_generator_to_every_step():
    steps = (RandomFlip(), GaussianNoise())
    images = random_images(16, 1, 8, 8)
    generator = torch.Generator().manual_seed(1)
    expected = steps[1](steps[0](images, generator=generator), generator=generator)
    out = Compose(steps)(images, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out, expected)


def test_empty_compose_is_identity():
    images = random_images(4, 1, 8, 8)
    assert torch.equal(Compose([])(images), images)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cpu_generator_drives_a_cuda_batch():
    images = random_images(16, 1, 8, 8, device="cuda")
    augment = Compose([RandomFlip(), RandomShift(), RandomRotation(), GaussianNoise()])
    first = augment(images, generator=torch.Generator().manual_seed(2))
    second = augment(images, generator=torch.Generator().manual_seed(2))
    assert first.device == images.device
    assert torch.equal(first, second)


def test_compose_calls_plain_functions_without_the_generator():
    def brighter(batch):
        return batch * 1.1

    images = random_images(4, 1, 8, 8)
    composed = Compose([RandomShift(1), brighter])
    first = composed(images, generator=torch.Generator().manual_seed(0))
    again = composed(images, generator=torch.Generator().manual_seed(0))
    assert torch.equal(first, again)
