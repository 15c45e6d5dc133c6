"""Small checkpoints of real transformers VLM architectures, built from scratch into a local folder.

Two users: the tests, which build tiny random Qwen2.5-VL, Qwen3-VL and SmolVLM checkpoints into a
temporary folder and load them through the same `from_pretrained` path as any downloaded checkpoint,
and the training of the default planner, which starts from `make_checkpoint(..., family="qwen3_vl")`.

The tokenizer is a byte-level BPE trained on the given corpus (so any text still encodes), with the
special tokens each family's processor looks for and each family's chat template. `added` strings
(JSON pieces of a plan, coordinate numbers) become single tokens: a plan step is about ten tokens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

QWEN_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|image_pad|>", "<|video_pad|>")
SMOLVLM_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<image>", "<fake_token_around_image>",
                   "<global-img>", "<video>") + tuple(f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7))

# Qwen2.5-VL's own template, shortened to what a single-image prompt uses (same rendering).
QWEN_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'text' %}{{ content['text'] }}"
    "{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
# The default planner's template: Qwen's, without system messages. Its weights know the vocabulary;
# a 300-token system prompt would triple the sequence it reads for nothing.
COMPACT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] != 'system' %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'text' %}{{ content['text'] }}"
    "{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
# SmolVLM's own template.
SMOLVLM_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{ line['text'] }}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}")


@dataclass(frozen=True)
class TinySize:
    """Widths and depths of a from-scratch model."""

    text_hidden: int = 64
    """Hidden size of the language model."""
    text_layers: int = 2
    """Decoder layers of the language model."""
    text_heads: int = 4
    """Attention heads (key/value heads are half of them)."""
    vision_hidden: int = 32
    """Hidden size of the vision tower."""
    vision_layers: int = 2
    """Layers of the vision tower."""
    image_side: int = 64
    """SmolVLM only: the square side its image processor resizes to."""


def build_tokenizer(corpus: Iterable[str], family: str, vocab_size: int = 600, added: Sequence[str] = (),
                    template: str | None = None):  # noqa: ANN201 - a PreTrainedTokenizerFast
    """A byte-level BPE tokenizer trained on `corpus`, with `family`'s special tokens and chat template."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    special = QWEN_SPECIAL if family in ("qwen2_5_vl", "qwen3_vl", "qwen2_vl") else SMOLVLM_SPECIAL
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(special), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    tok.add_tokens([AddedToken(a, normalized=False) for a in added])
    if family in ("qwen2_5_vl", "qwen3_vl", "qwen2_vl"):
        eos, extra = "<|im_end|>", {}
        template = template or QWEN_TEMPLATE
    else:
        eos = "<end_of_utterance>"
        extra = {"extra_special_tokens": {"image_token": "<image>", "fake_image_token": "<fake_token_around_image>",
                                          "global_image_token": "<global-img>",
                                          "end_of_utterance_token": "<end_of_utterance>"}}
        template = template or SMOLVLM_TEMPLATE
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=eos, pad_token="<|endoftext|>",
                                   bos_token=None, clean_up_tokenization_spaces=False,
                                   additional_special_tokens=[t for t in special if t not in (eos, "<|endoftext|>")],
                                   **extra)
    fast.chat_template = template
    return fast


def make_checkpoint(folder: str | Path, family: str = "qwen2_5_vl", size: TinySize = TinySize(),
                    corpus: Iterable[str] = ("go to the red cube", "wave", "ve al cubo rojo"),
                    vocab_size: int = 600, added: Sequence[str] = (), template: str | None = None,
                    seed: int = 0, image_size: tuple[int, int] = (240, 320)) -> Path:
    """Write a randomly initialised checkpoint of `family` (config, safetensors, tokenizer, processor).

    Args:
        family: "qwen2_5_vl", "qwen3_vl" or "smolvlm".
        image_size: (height, width) of the frames it will see; Qwen's image processor is set to keep
            that size (rounded to its 28 or 32 px grid) so every frame costs the same tokens.
    """
    import torch
    import transformers as tf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(corpus, family, vocab_size, added, template)
    vocab = len(tokenizer)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in (*QWEN_SPECIAL, *SMOLVLM_SPECIAL)}
    s = size
    head_dim = s.text_hidden // s.text_heads
    text = dict(vocab_size=vocab, hidden_size=s.text_hidden, intermediate_size=3 * s.text_hidden,
                num_hidden_layers=s.text_layers, num_attention_heads=s.text_heads,
                num_key_value_heads=max(1, s.text_heads // 2), max_position_embeddings=2048,
                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=None)
    h, w = image_size
    if family in ("qwen2_5_vl", "qwen3_vl"):
        patch = 14 if family == "qwen2_5_vl" else 16
        grid = patch * 2
        pixels = (round(h / grid) * grid) * (round(w / grid) * grid)
        image_processor = tf.Qwen2VLImageProcessorPil(
            size={"shortest_edge": pixels, "longest_edge": pixels}, patch_size=patch, merge_size=2,
            temporal_patch_size=2,
            **({"image_mean": [0.5] * 3, "image_std": [0.5] * 3} if family == "qwen3_vl" else {}))
        section = [head_dim // 2 - 2 * (head_dim // 6), head_dim // 6, head_dim // 6]
        special = dict(image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
                       vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
        if family == "qwen2_5_vl":
            text["rope_parameters"] = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": section}
            vision = dict(depth=s.vision_layers, hidden_size=s.vision_hidden, intermediate_size=3 * s.vision_hidden,
                          num_heads=max(1, s.vision_hidden // 16), out_hidden_size=s.text_hidden, patch_size=14,
                          spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                          fullatt_block_indexes=list(range(s.vision_layers)))
            config = tf.Qwen2_5_VLConfig(text_config=text, vision_config=vision, **special)
            model_cls = tf.Qwen2_5_VLForConditionalGeneration
        else:
            text["rope_parameters"] = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": section,
                                       "mrope_interleaved": True}
            text["head_dim"] = head_dim
            side = max(4, round((max(h, w) / patch)))  # learned absolute position table, interpolated
            vision = dict(depth=s.vision_layers, hidden_size=s.vision_hidden, intermediate_size=3 * s.vision_hidden,
                          num_heads=max(1, s.vision_hidden // 16), out_hidden_size=s.text_hidden, patch_size=16,
                          spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=side * side,
                          deepstack_visual_indexes=[s.vision_layers - 2] if s.vision_layers > 1 else [])
            config = tf.Qwen3VLConfig(text_config=text, vision_config=vision, **special)
            model_cls = tf.Qwen3VLForConditionalGeneration
        processor_cls = tf.Qwen2_5_VLProcessor if family == "qwen2_5_vl" else tf.Qwen3VLProcessor
        proc_kwargs: dict = {}
    elif family == "smolvlm":
        side = s.image_side
        image_processor = tf.models.smolvlm.image_processing_pil_smolvlm.SmolVLMImageProcessorPil(
            do_image_splitting=False, size={"longest_edge": side}, max_image_size={"longest_edge": side},
            do_resize=True)
        patch = side // 4
        text_cfg = dict(text, model_type="llama", rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                        head_dim=head_dim, tie_word_embeddings=False)
        vision = dict(hidden_size=s.vision_hidden, intermediate_size=3 * s.vision_hidden,
                      num_hidden_layers=s.vision_layers, num_attention_heads=max(1, s.vision_hidden // 16),
                      image_size=side, patch_size=patch)
        config = tf.SmolVLMConfig(text_config=text_cfg, vision_config=vision, scale_factor=2,
                                  image_token_id=ids["<image>"], pad_token_id=tokenizer.pad_token_id)
        model_cls = tf.SmolVLMForConditionalGeneration
        processor_cls = tf.SmolVLMProcessor
        proc_kwargs = {"image_seq_len": ((side // patch) ** 2) // 4}
    else:
        raise ValueError(f"unknown family {family!r} (qwen2_5_vl, qwen3_vl, smolvlm)")
    torch.manual_seed(seed)
    model = model_cls(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    image_processor.save_pretrained(folder)
    # The processor's own files (chat template, image_seq_len), written without a video processor.
    (folder / "chat_template.jinja").write_text(tokenizer.chat_template)
    (folder / "processor_config.json").write_text(json.dumps(
        {"processor_class": processor_cls.__name__, **proc_kwargs}, indent=2) + "\n")
    return folder


__all__ = ["COMPACT_TEMPLATE", "TinySize", "build_tokenizer", "make_checkpoint"]
