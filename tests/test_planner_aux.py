"""The planner's dense auxiliary targets (policies/train/planner_aux.py): labels worked out by hand on a
small mask, classes that agree with the rendered data, and the soft point label."""

from __future__ import annotations

import numpy as np
import pytest

from policies.planner.grounding import mask_point
from policies.train.planner_aux import BACKGROUND, N_CLASSES, dense_labels, point_label, scene_classes


def test_dense_labels_by_hand() -> None:
    # A 40 x 80 frame on a 4 x 8 patch grid: patches of 10 x 10 pixels, merged tokens of 20 x 20 (2 x 4 of them).
    m = np.full((1, 40, 80), -1, dtype=np.int8)
    m[0, 0:10, 0:20] = 0  # object 0 covers patches (0, 0) and (0, 1): both in token 0
    m[0, 30:40, 70:72] = 1  # object 1: 20 pixels in patch (3, 7), token 7
    m[0, 30:31, 60:65] = 2  # object 2: 5 pixels, under MIN_PATCH_PIXELS: covers nothing
    lab = dense_labels(m, [[5, 9, 11]], (4, 8), merge=2)
    assert lab["patch"].shape == (1, 32) and lab["present"].shape == (1, 8, N_CLASSES) and lab["point"].shape == (1, 8, 2)
    # Qwen's patch order: merged token (row, column), then the 2 x 2 patches inside it.
    patch = lab["patch"][0]
    assert patch[0] == 5 and patch[1] == 5 and patch[2] == BACKGROUND and patch[3] == BACKGROUND
    assert patch[7 * 4 + 3] == 9  # token 7's bottom-right patch
    assert (np.delete(patch, [0, 1, 31]) == BACKGROUND).all()
    present = lab["present"][0]
    assert present[0].nonzero()[0].tolist() == [5] and present[7].nonzero()[0].tolist() == [9]
    assert present[[1, 2, 3, 4, 5, 6]].sum() == 0  # object 2 is too small to count anywhere
    x, y = mask_point(m[0] == 0)
    assert np.allclose(lab["point"][0, 0], [x / 1000, y / 1000])
    assert np.isnan(lab["point"][0, 1]).all()


def test_scene_classes_match_the_rendered_split() -> None:
    from policies.train.planner import _classes_agree
    from policies.train.planner_data import make_split

    rgb, masks, samples = make_split("train", 3, 8, 0)
    classes = scene_classes([0, 1, 2])
    assert _classes_agree(classes, masks, [s.to_dict() for s in samples])
    assert not _classes_agree(scene_classes([1, 2, 3]), masks, [s.to_dict() for s in samples])


def test_point_label_puts_half_the_mass_on_each_axis() -> None:
    torch = pytest.importorskip("torch")
    xs, ys = list(range(10, 111)), list(range(200, 301))  # 101 token ids per axis
    q = point_label(xs, ys, 400, 10, 1.0)(torch.tensor([[0.35, 0.18]]))
    assert torch.allclose(q.sum(), torch.tensor(1.0))
    assert torch.allclose(q[0, xs].sum(), torch.tensor(0.5)) and torch.allclose(q[0, ys].sum(), torch.tensor(0.5))
    assert int(q[0, xs].argmax()) == 35 and int(q[0, ys].argmax()) == 18


def test_train_device_choice_is_checked() -> None:
    torch = pytest.importorskip("torch")
    from policies.train.planner import pick_device

    assert pick_device("cpu") == "cpu"
    assert pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="--device"):
        pick_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="sees no GPU"):
            pick_device("cuda")


def test_batch_encoding_matches_one_by_one(tmp_path) -> None:  # noqa: ANN001
    pytest.importorskip("transformers")
    import policies.train.planner as tp
    from policies.planner.loading import load_processor
    from policies.planner.tiny import COMPACT_TEMPLATE, TinySize, make_checkpoint
    from policies.train.planner_data import make_split

    _, _, made = make_split("train", 2, 6, 0)
    samples = [s.to_dict() for s in made]
    corpus = [s["instruction"] for s in samples]
    make_checkpoint(tmp_path, "qwen3_vl", TinySize(32, 1, 1, 32, 1), corpus, 300, tp.plan_tokens(), COMPACT_TEMPLATE,
                    image_size=(120, 160))
    proc = load_processor(tmp_path)
    assert tp.encode_all(proc, samples, chunk=5) == [tp.encode(proc, s) for s in samples]


def test_input_width_is_set_through_the_processors_pixel_budget(tmp_path) -> None:  # noqa: ANN001
    pytest.importorskip("transformers")
    import policies.train.planner as tp
    from policies.planner.loading import load_processor
    from policies.planner.tiny import TinySize, make_checkpoint

    make_checkpoint(tmp_path, "qwen3_vl", TinySize(32, 1, 1, 32, 1), ["go to the red cube"], 300,
                    image_size=(120, 160))
    assert tp.input_size(load_processor(tmp_path).image_processor, (240, 320)) == (96, 160)
    for width, size in ((224, (160, 224)), (288, (192, 288)), (64, (32, 64)), (160, (96, 160))):
        assert tp.set_input_width(tmp_path, (240, 320), width) == size
        assert tp.input_size(load_processor(tmp_path).image_processor, (240, 320)) == size
    before = (tmp_path / "preprocessor_config.json").read_text()
    for bad in (100, 320, 0):
        with pytest.raises(ValueError, match="multiple of 32"):
            tp.set_input_width(tmp_path, (240, 320), bad)
    assert (tmp_path / "preprocessor_config.json").read_text() == before


def test_grown_vision_tower_answers_as_before_and_learns(tmp_path) -> None:  # noqa: ANN001
    pytest.importorskip("transformers")
    import numpy as np
    import torch
    import transformers as tf
    from PIL import Image

    import policies.train.planner as tp
    from policies.planner.hf import TransformersPlanner
    from policies.planner.tiny import TinySize, make_checkpoint

    make_checkpoint(tmp_path, "qwen3_vl", TinySize(32, 1, 1, 32, 2), ["go to the red cube"], 300,
                    image_size=(96, 160))
    planner = TransformersPlanner(tmp_path)
    frame = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    inputs = planner.processor(text=[planner.prompt("go to the red cube")], images=[Image.fromarray(frame)],
                               return_tensors="pt")

    def logits() -> torch.Tensor:
        model = tf.Qwen3VLForConditionalGeneration.from_pretrained(tmp_path, dtype=torch.float32)
        with torch.no_grad():
            return model(**inputs).logits

    before = logits()
    assert tp.grow_vision(tmp_path, 4) == 2
    model = tf.Qwen3VLForConditionalGeneration.from_pretrained(tmp_path, dtype=torch.float32)
    assert len(model.model.visual.blocks) == 4
    assert torch.equal(logits(), before)  # the new blocks pass their input through, exactly
    new = model.model.visual.blocks[2]
    assert not new.attn.proj.weight.any() and new.attn.qkv.weight.any()
    model(**inputs).logits.square().mean().backward()
    assert new.attn.proj.weight.grad.abs().sum() > 0 and new.mlp.linear_fc2.weight.grad.abs().sum() > 0
    weights = (tmp_path / "model.safetensors").read_bytes()
    assert tp.grow_vision(tmp_path, 4) == 4 and (tmp_path / "model.safetensors").read_bytes() == weights
    with pytest.raises(ValueError, match="cannot shrink"):
        tp.grow_vision(tmp_path, 3)
