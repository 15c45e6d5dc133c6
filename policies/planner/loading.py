"""Loading an image-text-to-text checkpoint from a local folder, offline, without remote code.

`AutoProcessor` of Qwen2-VL, Qwen2.5-VL, Qwen3-VL and SmolVLM needs torchvision for the video processor,
and the PyPI torchvision does not import beside the CPU torch these machines use. Where the full
processor fails to load, the processor class is assembled from its image processor and tokenizer
(the video half stays empty; the planner never sends video). Everything else is `from_pretrained`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VLM_HINT = "install the planner's extra: pip install -e '.[vlm]'"


class ModelLoadError(Exception):
    """A model folder that is missing, incomplete or corrupt: one line that says which and why."""


def _import_transformers() -> Any:
    try:
        import transformers
    except ImportError:
        raise ModelLoadError(f"the transformers planner needs transformers; {VLM_HINT}") from None
    return transformers


def check_folder(path: str | Path) -> Path:
    """The folder, or ModelLoadError naming what is missing."""
    p = Path(path)
    if not p.exists():
        raise ModelLoadError(f"model folder {p} does not exist")
    if not p.is_dir():
        raise ModelLoadError(f"model path {p} is not a folder")
    if not (p / "config.json").exists():
        raise ModelLoadError(f"model folder {p} has no config.json (not a transformers checkpoint)")
    if not any(p.glob("*.safetensors")):
        raise ModelLoadError(f"model folder {p} has no .safetensors weights")
    try:
        config = json.loads((p / "config.json").read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ModelLoadError(f"model folder {p}: config.json is not valid JSON ({_short(err)})") from None
    if not isinstance(config, dict) or not config.get("model_type"):
        raise ModelLoadError(f"model folder {p}: config.json names no model_type (not a transformers checkpoint)")
    if not any((p / name).exists() for name in TOKENIZER_FILES):
        raise ModelLoadError(f"model folder {p} has no tokenizer (none of {', '.join(TOKENIZER_FILES)})")
    return p


TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")
"""A model folder's tokenizer is in one of these (a fast tokenizer's JSON, SentencePiece, BPE or WordPiece)."""


def _processor_class(tf: Any, folder: Path) -> Any:
    for name in ("processor_config.json", "preprocessor_config.json", "tokenizer_config.json"):
        f = folder / name
        if f.exists():
            cls = json.loads(f.read_text()).get("processor_class")
            if cls and hasattr(tf, cls):
                return getattr(tf, cls)
    model_type = json.loads((folder / "config.json").read_text()).get("model_type", "")
    from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES

    cls = PROCESSOR_MAPPING_NAMES.get(model_type)
    if cls and hasattr(tf, cls):
        return getattr(tf, cls)
    raise ModelLoadError(f"no processor class known for model type {model_type!r} in {folder}")


def load_processor(path: str | Path) -> Any:
    """The model's processor: `AutoProcessor` where it loads, else assembled from image processor and
    tokenizer."""
    tf = _import_transformers()
    folder = check_folder(path)
    try:
        return tf.AutoProcessor.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    except (ImportError, AttributeError, TypeError, ValueError, OSError):
        pass  # a video processor that needs torchvision, or an incomplete processor config
    cls = _processor_class(tf, folder)
    try:
        image_processor = tf.AutoImageProcessor.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
        tokenizer = tf.AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    except Exception as err:  # noqa: BLE001 - any parse error of the files is one user-facing error
        raise ModelLoadError(f"cannot load the image processor or tokenizer from {folder}: {_short(err)}") from None
    extra: dict[str, Any] = {}
    pc = folder / "processor_config.json"
    if pc.exists():
        extra = {k: v for k, v in json.loads(pc.read_text()).items()
                 if k not in ("processor_class", "chat_template") and not isinstance(v, dict)}
    template = None
    if (folder / "chat_template.jinja").exists():
        template = (folder / "chat_template.jinja").read_text()
    elif (folder / "chat_template.json").exists():
        template = json.loads((folder / "chat_template.json").read_text()).get("chat_template")
    template = template or getattr(tokenizer, "chat_template", None)

    def check(self: Any, name: str, arg: Any) -> Any:
        if arg is None and name == "video_processor":
            return None
        return cls.check_argument_for_proper_class(self, name, arg)

    # The same class, except that a missing video processor is accepted.
    assembled = type(cls.__name__, (cls,), {"check_argument_for_proper_class": check})
    import inspect

    params = inspect.signature(cls.__init__).parameters
    kwargs = {k: v for k, v in extra.items() if k in params}
    if "video_processor" in params:
        kwargs["video_processor"] = None
    try:
        return assembled(image_processor=image_processor, tokenizer=tokenizer, chat_template=template, **kwargs)
    except Exception as err:  # noqa: BLE001
        raise ModelLoadError(f"cannot assemble {cls.__name__} for {folder}: {_short(err)}") from None


def load_model(path: str | Path, dtype: Any = None) -> Any:
    """The model, through `AutoModelForImageTextToText.from_pretrained`, in float32 by default."""
    tf = _import_transformers()
    import torch

    folder = check_folder(path)
    try:
        model = tf.AutoModelForImageTextToText.from_pretrained(
            folder, dtype=dtype or torch.float32, local_files_only=True, trust_remote_code=False)
    except Exception as err:  # noqa: BLE001 - corrupt weights, a bad config: one clear line
        raise ModelLoadError(f"cannot load the model in {folder}: {_short(err)}") from None
    model.eval()
    return model


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return (type(err).__name__ + ": " + text)[:300]


__all__ = ["ModelLoadError", "check_folder", "load_model", "load_processor"]
