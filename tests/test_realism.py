"""The realism referees on cases whose answer is known: a C2ST that calls real photos 0.5 and spots
blur, and a sharpness ratio that reads 1.0 for real photos and well below 1 for blurred ones."""
import pytest
import torch
import torch.nn.functional as F

from expr_gan.metrics.realism import (blur2x, c2st_accuracy, c2st_runs, laplacian_variance, mean_and_spread, sharpness,
                                      to_uint8)


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    from expr_gan.data.synthetic import SyntheticFaces

    return SyntheticFaces(num_identities=40, size=64).load(tmp_path_factory.mktemp("faces"))


def test_sharpness_of_known_cases(faces):
    images = faces.images
    assert sharpness(images, images) == pytest.approx(1.0)
    assert laplacian_variance(torch.full((2, 3, 64, 64), 128, dtype=torch.uint8)).abs().max() == 0
    assert laplacian_variance(images[:4]).shape == (4,)
    assert sharpness(blur2x(images), images) < 0.5  # measured: 0.33
    even = faces.identity % 2 == 0  # real photos against real photos of other people, same expressions
    assert sharpness(images[even], images[~even]) == pytest.approx(1.0, abs=0.15)
    assert torch.equal(to_uint8(images.float() / 255), images)


def test_c2st_of_known_cases(faces):
    images = faces.images
    train, test = images[: len(images) // 2], images[len(images) // 2 :]
    quick = {"steps": 120, "width": 8}
    assert c2st_accuracy(train, train, test, test, **quick) == 0.5  # the same images on both sides
    grey = torch.full_like(train, 128)
    assert c2st_accuracy(train, grey, test, grey[: len(test)], **quick) > 0.95  # blatant fakes are spotted
    with pytest.raises(ValueError, match="fake_test must be a non-empty uint8"):
        c2st_accuracy(train, train, test, test.float(), **quick)


@pytest.mark.slow
def test_c2st_power_and_null_at_the_default_scale(tmp_path):
    """The evaluator's setting (64 px, 300 people, identity split, default budget): real photos of
    other expressions (the copy baseline) are not told apart from the targets, blurred ones are."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from expr_gan.config import config_dir
    from expr_gan.metrics.realism import C2STSettings

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=[f"paths.cache_dir={tmp_path}"])
    dm = instantiate(cfg.data, pixels=instantiate(cfg.pixels))
    dm.setup()
    images = dm.faces.images
    order = torch.randperm(len(dm.train_pairs), generator=torch.Generator().manual_seed(0))
    train = dm.train_pairs[order[: C2STSettings.from_config().train_pairs]]
    real_train, real_test = images[train[:, 1]], images[dm.test_pairs[:, 1]]
    copy = c2st_accuracy(real_train, images[train[:, 0]], real_test, images[dm.test_pairs[:, 0]])
    blurred = c2st_accuracy(real_train, blur2x(real_train), real_test, blur2x(real_test))
    assert abs(copy - 0.5) < 0.05, copy  # measured: 0.500
    assert blurred >= 0.9, blurred  # measured: 0.98
    assert sharpness(blur2x(real_test), real_test) < 0.5


def test_c2st_is_the_mean_of_seeded_classifiers_with_their_spread(faces):
    """Each classifier's seed moves its accuracy on a hard case; c2st_runs gives one value per seed
    (the first is c2st_accuracy's own), and mean_and_spread their mean and sample deviation."""
    images = faces.images
    train, test = images[: len(images) // 2], images[len(images) // 2 :]
    quick = {"steps": 40, "width": 8}
    runs = c2st_runs(train, blur2x(train), test, blur2x(test), seeds=3, seed=5, **quick)
    assert len(runs) == 3 and runs[0] == c2st_accuracy(train, blur2x(train), test, blur2x(test), seed=5, **quick)
    assert len(set(runs)) > 1  # the seed matters: one classifier is one draw
    mean, std = mean_and_spread(runs)
    assert mean == pytest.approx(sum(runs) / 3) and std == pytest.approx(float(torch.tensor(runs).std()))
    assert mean_and_spread([0.7]) == (0.7, 0.0)
    with pytest.raises(ValueError, match="c2st.seeds=0"):
        c2st_runs(train, train, test, test, seeds=0)
