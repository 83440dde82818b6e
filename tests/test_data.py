"""Pairs, splits, pixel ranges, the cache and the datamodule."""
import pytest
import torch

from expr_gan.data.cache import load_or_build
from expr_gan.data.datamodule import FacePairsDataModule
from expr_gan.data.pairs import make_pairs, split_pairs
from expr_gan.data.pixels import MODES, PixelRange
from expr_gan.data.synthetic import SyntheticFaces


@pytest.fixture(scope="module")
def dm(tmp_path_factory):
    module = FacePairsDataModule(SyntheticFaces(num_identities=20, size=32), size=32, batch_size=8,
                                 cache_dir=tmp_path_factory.mktemp("c"), num_samples=3)
    module.setup()
    return module


def test_pairs_share_identity_and_differ_in_expression(dm):
    faces = dm.faces
    for pairs in (dm.train_pairs, dm.val_pairs, dm.test_pairs):
        assert torch.equal(faces.identity[pairs[:, 0]], faces.identity[pairs[:, 1]])
        assert (faces.expression[pairs[:, 0]] != faces.expression[pairs[:, 1]]).all()
    assert len(dm.train_pairs) + len(dm.val_pairs) + len(dm.test_pairs) == 20 * 6 * 5


def test_identity_split_is_disjoint_and_seeded(dm):
    ids = [set(dm.faces.identity[p[:, 0]].tolist()) for p in (dm.train_pairs, dm.val_pairs, dm.test_pairs)]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert [len(s) for s in ids] == [16, 2, 2]
    again = split_pairs(make_pairs(dm.faces.identity, dm.faces.expression), dm.faces.identity, (0.8, 0.1, 0.1), 0)
    assert torch.equal(again[0], dm.train_pairs)


def test_pair_policies_and_report_split():
    identity = torch.tensor([0] * 6 + [1] * 6)
    expression = torch.arange(6).repeat(2)
    assert len(make_pairs(identity, expression, "all")) == 60
    from_n = make_pairs(identity, expression, "from_neutral")
    assert len(from_n) == 10 and (expression[from_n[:, 0]] == 0).all()
    to_n = make_pairs(identity, expression, "to_neutral")
    assert len(to_n) == 10 and (expression[to_n[:, 1]] == 0).all()
    train, test = split_pairs(make_pairs(identity, expression), identity, (0.5, 0.5), 0, how="pair")
    assert len(train) == 30 and len(test) == 30
    with pytest.raises(ValueError, match="pair_policy"):
        make_pairs(identity, expression, "sideways")
    with pytest.raises(ValueError, match="data.split="):
        split_pairs(make_pairs(identity, expression), identity, (0.5, 0.5), 0, how="random")


def test_pair_heldout_split_holds_out_the_identity_splits_test_people():
    """The report's 50-50 pair split among most people, the identity split's test people held out whole."""
    identity = torch.arange(20).repeat_interleave(6)
    expression = torch.arange(6).repeat(20)
    pairs = make_pairs(identity, expression)
    train, heldout, test = split_pairs(pairs, identity, (0.45, 0.45, 0.1), 0, how="pair_heldout")
    _, _, identity_test = split_pairs(pairs, identity, (0.8, 0.1, 0.1), 0, how="identity")
    assert torch.equal(heldout, identity_test)  # the same people (so the same referees apply)
    seen, unseen = set(identity[train[:, 0]].tolist()), set(identity[heldout[:, 0]].tolist())
    assert unseen and not seen & unseen and set(identity[test[:, 0]].tolist()) <= seen
    assert len(train) == len(test) == (len(pairs) - len(heldout)) // 2  # 50-50 among the others
    assert len(torch.cat([train, heldout, test]).unique(dim=0)) == len(pairs)  # every pair once
    with pytest.raises(ValueError, match="pair_heldout.*positive last share"):
        split_pairs(pairs, identity, (0.5, 0.5, 0.0), 0, how="pair_heldout")


@pytest.mark.parametrize("mode", list(MODES))
def test_pixel_ranges_round_trip_exactly(mode):
    images = torch.randint(0, 256, (10, 3, 8, 8), dtype=torch.uint8)
    images[0, :, 0, 0], images[0, :, 0, 1] = 0, 255
    pixels = PixelRange(mode).fit(images)
    encoded = pixels.encode(images)
    assert torch.equal(pixels.to_uint8(encoded), images)
    assert torch.allclose(pixels.decode(encoded), images.float() / 255, atol=1e-5)
    low, high = {"unit": (0, 1), "byte": (0, 255), "symmetric": (-1, 1)}.get(mode, (None, None))
    if low is not None:
        assert encoded.min() == low and encoded.max() == high
    else:
        assert encoded.mean(dim=(0, 2, 3)).abs().max() < 1e-4


def test_batches_and_consistent_flip(dm):
    batch = next(iter(dm.train_dataloader()))
    assert batch["source"].shape == (8, 3, 32, 32) and batch["target_onehot"].shape == (8, 6)
    assert torch.equal(batch["target_onehot"].argmax(1), batch["target_expr"])
    from expr_gan.data.datamodule import PairDataset
    dataset = PairDataset(dm.faces, dm.train_pairs, dm.pixels)
    plain = dataset.__getitems__(list(range(64)))
    flipped = dataset.__getitems__([(i, i % 3 == 0) for i in range(64)])
    src_flipped = (flipped["source"] != plain["source"]).flatten(1).any(1)
    tgt_flipped = (flipped["target"] != plain["target"]).flatten(1).any(1)
    assert torch.equal(src_flipped, torch.arange(64) % 3 == 0) and torch.equal(src_flipped, tgt_flipped)
    assert torch.equal(flipped["source"][src_flipped], plain["source"][src_flipped].flip(-1))


def test_sample_batch_is_fixed_and_from_val_people(dm):
    a, b = dm.sample_batch(), dm.sample_batch()
    assert torch.equal(a["source"], b["source"]) and a["targets"].shape == (2, 6, 3, 32, 32)
    val_people = set(dm.faces.identity[dm.val_pairs[:, 0]].tolist())
    assert set(a["identity"].tolist()) <= val_people and a["target_mask"].all()


def test_cache_is_reused_and_rebuilt_when_corrupt(tmp_path, caplog):
    calls = []
    source = SyntheticFaces(num_identities=2, size=32)

    def build():
        calls.append(1)
        return source.render()

    first = load_or_build(tmp_path, "synthetic", source.settings(), build)
    second = load_or_build(tmp_path, "synthetic", source.settings(), build)
    assert len(calls) == 1 and torch.equal(first.images, second.images)
    (path,) = tmp_path.glob("synthetic-*.pt")
    path.write_bytes(path.read_bytes()[:100])
    third = load_or_build(tmp_path, "synthetic", source.settings(), build)
    assert len(calls) == 2 and torch.equal(first.images, third.images)
    assert str(path) in caplog.text


def test_datamodule_rejects_mismatched_settings(tmp_path):
    dm = FacePairsDataModule(SyntheticFaces(num_identities=4, size=32), size=64, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="data.size=64"):
        dm.setup()
    dm = FacePairsDataModule(SyntheticFaces(num_identities=4, size=32), size=32, num_expressions=8, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="num_expressions=8"):
        dm.setup()


def test_cache_rebuilds_only_a_damaged_or_stale_file_and_lets_a_bug_through(tmp_path, caplog, monkeypatch):
    import expr_gan.data.cache as cache
    from expr_gan.data.faceset import FaceSet

    calls = []
    source = SyntheticFaces(num_identities=2, size=32)

    def build():
        calls.append(1)
        return source.render()

    load_or_build(tmp_path, "synthetic", source.settings(), build)
    (path,) = tmp_path.glob("synthetic-*.pt")
    stored = torch.load(path, weights_only=True)
    torch.save({k: v for k, v in stored.items() if k != "checksum"}, path)  # another version's layout
    load_or_build(tmp_path, "synthetic", source.settings(), build)
    assert len(calls) == 2 and "is stale" in caplog.text and "no checksum" in caplog.text
    stored = torch.load(path, weights_only=True)
    torch.save({**stored, "images": stored["images"].flip(0)}, path)  # wrong content
    load_or_build(tmp_path, "synthetic", source.settings(), build)
    assert len(calls) == 3 and "checksum mismatch" in caplog.text

    def broken(d):
        raise TypeError("a bug in from_tensors")

    monkeypatch.setattr(cache.FaceSet, "from_tensors", staticmethod(broken))
    with pytest.raises(TypeError, match="a bug in from_tensors"):  # not a silent rebuild
        load_or_build(tmp_path, "synthetic", source.settings(), build)
    assert len(calls) == 3 and FaceSet is cache.FaceSet


def test_referee_cache_retrains_a_damaged_file_and_lets_a_bug_through(tmp_path, caplog, monkeypatch):
    import expr_gan.referees as referees

    images, labels = torch.rand(24, 3, 32, 32), torch.arange(24) % 3
    settings = {"epochs": 1, "width": 8}
    referees.load_or_train_referee(tmp_path, "judge", {"d": 1}, images, labels, 3, settings)
    (path,) = tmp_path.glob("judge-*.pt")
    path.write_bytes(path.read_bytes()[:50])
    trained = []
    real_train = referees.train_referee
    monkeypatch.setattr(referees, "train_referee", lambda *a, **k: trained.append(1) or real_train(*a, **k))
    referees.load_or_train_referee(tmp_path, "judge", {"d": 1}, images, labels, 3, settings)
    assert trained == [1] and "is damaged" in caplog.text and str(path) in caplog.text

    class Broken(referees.Referee):
        def __init__(self, *a, **k):
            raise TypeError("a bug in Referee")

    monkeypatch.setattr(referees, "Referee", Broken)
    with pytest.raises(TypeError, match="a bug in Referee"):
        referees.load_or_train_referee(tmp_path, "judge", {"d": 1}, images, labels, 3, settings)
    assert trained == [1]


def test_a_data_key_no_source_reads_is_an_error_naming_it(make_cfg):
    """`+data.sise=32` (a typo of a key that exists nowhere) is refused when the datamodule is built, naming
    the key; before, the datamodule took any keyword and the setting was silently ignored."""
    import pytest
    from hydra.utils import instantiate

    with pytest.raises(Exception, match="sise"):
        instantiate(make_cfg("+data.sise=32").data)
    assert instantiate(make_cfg().data).size == 32  # the keys the sources read are still taken
